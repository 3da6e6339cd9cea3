/*
 * rpc.c: the wire format of the KVServer RPCs (kvraft.h), the C counterpart
 * of the original's common.go. labrpc encodes every argument and reply with
 * these codec types; a field added to a struct must be added here too, in
 * the same order in encode and decode. A NULL string is sent as "".
 */
#include "kvraft/kvraft.h"

#include <stdlib.h>

static void put_str(struct codec_buf *b, const char *s)
{
	codec_put_str(b, s != NULL ? s : "");
}

static void get_str(struct codec_reader *r, char **s)
{
	uint8_t *data = NULL;
	size_t len;
	if (codec_get_bytes(r, &data, &len) == CODEC_OK)
		*s = (char *)data;
}

/* ---- Get ---- */

static void get_args_encode(struct codec_buf *b, const void *value)
{
	const struct kv_get_args *a = value;
	put_str(b, a->key);
	codec_put_uvarint(b, a->client_id);
	codec_put_uvarint(b, a->seq);
}

static int get_args_decode(struct codec_reader *r, void *value)
{
	struct kv_get_args *a = value;
	get_str(r, &a->key);
	codec_get_uvarint(r, &a->client_id);
	codec_get_uvarint(r, &a->seq);
	return r->err;
}

static void get_args_release(void *value)
{
	struct kv_get_args *a = value;
	free(a->key);
}

static void get_reply_encode(struct codec_buf *b, const void *value)
{
	const struct kv_get_reply *a = value;
	put_str(b, a->err);
	put_str(b, a->value);
}

static int get_reply_decode(struct codec_reader *r, void *value)
{
	struct kv_get_reply *a = value;
	get_str(r, &a->err);
	get_str(r, &a->value);
	return r->err;
}

static void get_reply_release(void *value)
{
	struct kv_get_reply *a = value;
	free(a->err);
	free(a->value);
}

/* ---- PutAppend ---- */

static void put_append_args_encode(struct codec_buf *b, const void *value)
{
	const struct kv_put_append_args *a = value;
	put_str(b, a->key);
	put_str(b, a->value);
	put_str(b, a->op);
	codec_put_uvarint(b, a->client_id);
	codec_put_uvarint(b, a->seq);
}

static int put_append_args_decode(struct codec_reader *r, void *value)
{
	struct kv_put_append_args *a = value;
	get_str(r, &a->key);
	get_str(r, &a->value);
	get_str(r, &a->op);
	codec_get_uvarint(r, &a->client_id);
	codec_get_uvarint(r, &a->seq);
	return r->err;
}

static void put_append_args_release(void *value)
{
	struct kv_put_append_args *a = value;
	free(a->key);
	free(a->value);
	free(a->op);
}

static void put_append_reply_encode(struct codec_buf *b, const void *value)
{
	const struct kv_put_append_reply *a = value;
	put_str(b, a->err);
}

static int put_append_reply_decode(struct codec_reader *r, void *value)
{
	struct kv_put_append_reply *a = value;
	get_str(r, &a->err);
	return r->err;
}

static void put_append_reply_release(void *value)
{
	struct kv_put_append_reply *a = value;
	free(a->err);
}

const struct codec_type kv_get_args_type = {
        "GetArgs", sizeof(struct kv_get_args), get_args_encode, get_args_decode,
        get_args_release};
const struct codec_type kv_get_reply_type = {
        "GetReply", sizeof(struct kv_get_reply), get_reply_encode,
        get_reply_decode, get_reply_release};
const struct codec_type kv_put_append_args_type = {
        "PutAppendArgs", sizeof(struct kv_put_append_args),
        put_append_args_encode, put_append_args_decode,
        put_append_args_release};
const struct codec_type kv_put_append_reply_type = {
        "PutAppendReply", sizeof(struct kv_put_append_reply),
        put_append_reply_encode, put_append_reply_decode,
        put_append_reply_release};
