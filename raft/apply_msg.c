/*
 * apply_msg.c: the framework's part of raft.h, making and freeing the
 * messages a peer sends on its apply channel. The Raft algorithm itself is
 * in raft.c; nothing here knows about logs or terms beyond copying them.
 */
#include "raft/raft.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* malloc that never returns NULL: Raft has nowhere to report a message it
 * could not build, so running out of memory ends the program. */
static void *xmalloc(size_t size)
{
	void *p = malloc(size);
	if (!p) {
		fprintf(stderr, "raft_apply_msg: out of memory (%zu bytes)\n",
		        size);
		abort();
	}
	return p;
}

/* A copy of bytes[0..len-1], never NULL even when len is 0, so a receiver
 * never finds a NULL command or snapshot in a valid message. */
static void *copy_bytes(const void *bytes, size_t len)
{
	void *copy = xmalloc(len > 0 ? len : 1);
	if (len > 0)
		memcpy(copy, bytes, len);
	return copy;
}

struct raft_apply_msg *raft_apply_msg_command(const void *command, size_t len,
                                              int index)
{
	struct raft_apply_msg *msg = xmalloc(sizeof *msg);
	*msg = (struct raft_apply_msg){
	        .command_valid = true,
	        .command = copy_bytes(command, len),
	        .command_len = len,
	        .command_index = index,
	};
	return msg;
}

struct raft_apply_msg *raft_apply_msg_snapshot(const void *snapshot, size_t len,
                                               int term, int index)
{
	struct raft_apply_msg *msg = xmalloc(sizeof *msg);
	*msg = (struct raft_apply_msg){
	        .snapshot_valid = true,
	        .snapshot = copy_bytes(snapshot, len),
	        .snapshot_len = len,
	        .snapshot_term = term,
	        .snapshot_index = index,
	};
	return msg;
}

struct raft_apply_msg *raft_apply_msg_config(const int *members, int n,
                                             int index)
{
	struct raft_apply_msg *msg = xmalloc(sizeof *msg);
	*msg = (struct raft_apply_msg){
	        .config_valid = true,
	        .config_members =
	                copy_bytes(members, (size_t)n * sizeof *members),
	        .config_nmembers = n,
	        .config_index = index,
	};
	return msg;
}

void raft_apply_msg_free(struct raft_apply_msg *msg)
{
	if (!msg)
		return;
	free(msg->command);
	free(msg->snapshot);
	free(msg->config_members);
	free(msg);
}
