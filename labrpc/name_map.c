/*
 * name_map.c: the chained hash table of name_map.h, private to labrpc/. It
 * doubles its buckets when it holds as many nodes as buckets; it never
 * shrinks.
 */
#include "labrpc/name_map.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Process-fatal, like the rest of labrpc's allocations. */
static void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n, size ? size : 1);
	if (!p) {
		fflush(stdout);
		fputs("labrpc: out of memory\n", stderr);
		_exit(1);
	}
	return p;
}

static uint64_t name_hash(const char *s) /* FNV-1a */
{
	uint64_t h = 0xcbf29ce484222325ULL;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
	return h;
}

void labrpc_name_map_init(struct name_map *m)
{
	m->nbuckets = 16;
	m->buckets = xcalloc(m->nbuckets, sizeof *m->buckets);
	m->count = 0;
}

void labrpc_name_map_destroy(struct name_map *m)
{
	free(m->buckets);
	m->buckets = NULL;
	m->nbuckets = m->count = 0;
}

struct name_node *labrpc_name_map_find(const struct name_map *m,
                                       const char *name)
{
	uint64_t h = name_hash(name);
	for (struct name_node *n = m->buckets[h & (m->nbuckets - 1)]; n;
	     n = n->next)
		if (n->hash == h && strcmp(n->name, name) == 0)
			return n;
	return NULL;
}

void labrpc_name_map_insert(struct name_map *m, struct name_node *node)
{
	if (m->count >= m->nbuckets) {
		size_t nb = m->nbuckets * 2;
		struct name_node **b = xcalloc(nb, sizeof *b);
		for (size_t i = 0; i < m->nbuckets; i++) {
			while (m->buckets[i]) {
				struct name_node *n = m->buckets[i];
				m->buckets[i] = n->next;
				n->next = b[n->hash & (nb - 1)];
				b[n->hash & (nb - 1)] = n;
			}
		}
		free(m->buckets);
		m->buckets = b;
		m->nbuckets = nb;
	}
	node->hash = name_hash(node->name);
	struct name_node **head = &m->buckets[node->hash & (m->nbuckets - 1)];
	node->next = *head;
	*head = node;
	m->count++;
}

void labrpc_name_map_remove(struct name_map *m, struct name_node *node)
{
	struct name_node **p = &m->buckets[node->hash & (m->nbuckets - 1)];
	while (*p != node)
		p = &(*p)->next;
	*p = node->next;
	m->count--;
}

struct name_node *labrpc_name_map_pop(struct name_map *m)
{
	for (size_t i = 0; i < m->nbuckets; i++) {
		if (m->buckets[i]) {
			struct name_node *n = m->buckets[i];
			labrpc_name_map_remove(m, n);
			return n;
		}
	}
	return NULL;
}
