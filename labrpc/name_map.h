/*
 * name_map.h: a chained hash table of intrusive nodes keyed by name (FNV-1a),
 * for labrpc's ends and server names. Private to labrpc/: nothing outside it
 * includes this header. Not thread-safe: its owner's lock guards it.
 */
#ifndef RAFTLAB_LABRPC_NAME_MAP_H
#define RAFTLAB_LABRPC_NAME_MAP_H

#include <stddef.h>
#include <stdint.h>

/* Embedded in the object the map finds; the object owns name. */
struct name_node {
	struct name_node *next;
	uint64_t hash;
	const char *name;
};

struct name_map {
	struct name_node **buckets;
	size_t nbuckets; /* a power of two */
	size_t count;
};

void labrpc_name_map_init(struct name_map *m);
/* Frees the buckets; the nodes belong to their objects. */
void labrpc_name_map_destroy(struct name_map *m);
/* The node named name, or NULL. */
struct name_node *labrpc_name_map_find(const struct name_map *m,
                                       const char *name);
/* Inserts node, whose name is set and not yet in m. */
void labrpc_name_map_insert(struct name_map *m, struct name_node *node);
/* Unlinks node, which is in m. */
void labrpc_name_map_remove(struct name_map *m, struct name_node *node);
/* Unlinks and returns some node, or NULL when m is empty. */
struct name_node *labrpc_name_map_pop(struct name_map *m);

#endif
