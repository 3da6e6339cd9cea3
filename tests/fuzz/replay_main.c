/*
 * replay_main: runs saved inputs through the codec's fuzz target without
 * libFuzzer, so the seed corpus and any crash libFuzzer found become plain
 * regression tests (`make unit` replays tests/fuzz/corpus).
 *
 *   codec_replay PATH...   each PATH is an input file or a directory whose
 *                          files (not subdirectories) are inputs
 *
 * Each input runs in a child process, so one crashing input is reported by
 * name and the rest still run. Exit status: 0 if every input passed, 1 if
 * any failed, 2 if a path could not be read.
 */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct replay {
	size_t inputs;
	size_t failures;
};

/* Reads a whole file into an allocation of exactly its size (so ASan sees
 * any read past the input's end). Returns NULL with errno set on error. */
static uint8_t *read_file(const char *path, size_t *size)
{
	uint8_t *data = NULL;
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		return NULL;
	struct stat st;
	if (fstat(fileno(f), &st) != 0)
		goto close_file;
	*size = (size_t)st.st_size;
	data = malloc(*size ? *size : 1);
	if (data == NULL)
		goto close_file;
	if (fread(data, 1, *size, f) != *size) {
		free(data);
		data = NULL;
		errno = EIO;
	}
close_file:
	fclose(f);
	return data;
}

/* Runs one input in a child process. Returns 0 if it was replayed (passing
 * or failing; failures are counted), -1 if it could not be read. */
static int replay_file(const char *path, struct replay *rp)
{
	size_t size;
	uint8_t *data = read_file(path, &size);
	if (data == NULL) {
		fprintf(stderr, "codec_replay: %s: %s\n", path,
		        strerror(errno));
		return -1;
	}
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0) {
		fprintf(stderr, "codec_replay: fork: %s\n", strerror(errno));
		free(data);
		return -1;
	}
	if (pid == 0) {
		LLVMFuzzerTestOneInput(data, size);
		free(data);
		exit(0);
	}
	free(data);

	int status;
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR) {
			fprintf(stderr, "codec_replay: waitpid: %s\n",
			        strerror(errno));
			return -1;
		}
	}
	rp->inputs++;
	if (WIFSIGNALED(status)) {
		rp->failures++;
		fprintf(stderr, "codec_replay: FAIL %s: killed by signal %d\n",
		        path, WTERMSIG(status));
	} else if (WEXITSTATUS(status) != 0) {
		rp->failures++;
		fprintf(stderr, "codec_replay: FAIL %s: exit status %d\n", path,
		        WEXITSTATUS(status));
	}
	return 0;
}

static int compare_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Memory for the list of names; running out of it ends the replay. */
static void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n);
	if (p == NULL) {
		fputs("codec_replay: out of memory\n", stderr);
		exit(2);
	}
	return p;
}

/* Replays the regular files directly inside dir, in name order. */
static int replay_dir(const char *dir, struct replay *rp)
{
	char **names = NULL;
	size_t n = 0, cap = 0;
	DIR *d = opendir(dir);
	if (d == NULL) {
		fprintf(stderr, "codec_replay: %s: %s\n", dir, strerror(errno));
		return -1;
	}
	for (struct dirent *e; (e = readdir(d)) != NULL;) {
		if (e->d_name[0] == '.')
			continue;
		if (n == cap) {
			cap = cap ? 2 * cap : 64;
			names = xrealloc(names, cap * sizeof *names);
		}
		size_t len = strlen(dir) + 1 + strlen(e->d_name) + 1;
		names[n] = xrealloc(NULL, len);
		snprintf(names[n++], len, "%s/%s", dir, e->d_name);
	}
	closedir(d);
	if (n > 0)
		qsort(names, n, sizeof *names, compare_names);

	int rc = 0;
	for (size_t i = 0; i < n && rc == 0; i++) {
		struct stat st;
		if (stat(names[i], &st) != 0) {
			fprintf(stderr, "codec_replay: %s: %s\n", names[i],
			        strerror(errno));
			rc = -1;
		} else if (S_ISREG(st.st_mode)) {
			rc = replay_file(names[i], rp);
		}
	}
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return rc;
}

int main(int argc, char **argv)
{
	struct replay rp = {0, 0};
	if (argc < 2) {
		fprintf(stderr, "usage: %s FILE-OR-DIRECTORY...\n", argv[0]);
		return 2;
	}
	/* Check every path first, so a typo fails before anything runs. */
	for (int i = 1; i < argc; i++) {
		struct stat st;
		if (stat(argv[i], &st) != 0) {
			fprintf(stderr, "codec_replay: %s: %s\n", argv[i],
			        strerror(errno));
			return 2;
		}
	}
	for (int i = 1; i < argc; i++) {
		struct stat st;
		int rc = stat(argv[i], &st) != 0 ? -1
		         : S_ISDIR(st.st_mode)   ? replay_dir(argv[i], &rp)
		                                 : replay_file(argv[i], &rp);
		if (rc != 0)
			return 2;
	}
	printf("codec_replay: %zu inputs replayed, %zu failures\n", rp.inputs,
	       rp.failures);
	return rp.failures ? 1 : 0;
}
