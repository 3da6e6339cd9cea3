/*
 * prng: a small seeded pseudo-random generator (xoshiro256**), owned by the
 * object that draws from it, so a run's random choices can be replayed from
 * its seed. Not thread-safe: the owner serialises draws (usually under the
 * owner's own lock).
 */
#ifndef RAFTLAB_PRNG_H
#define RAFTLAB_PRNG_H

#include <stdint.h>

struct prng {
	uint64_t s[4];
};

/* Seeds the generator; any 64-bit value (0 included) is a good seed. */
void prng_seed(struct prng *p, uint64_t seed);

/* A fresh seed from the operating system's entropy source. */
uint64_t prng_entropy_seed(void);

/* Uniform 64-bit value. */
uint64_t prng_next(struct prng *p);

/* Uniform non-negative 63-bit value, like Go's rand.Int63(). */
int64_t prng_int63(struct prng *p);

/* Uniform integer in [0, n-1]; n must be > 0. Like Go's rand.Intn(n). */
int64_t prng_below(struct prng *p, int64_t n);

#endif
