/*
 * prng.c: xoshiro256** seeded through splitmix64 (see prng.h). Small, fast,
 * and identical on every machine, so a seed replays the same draws.
 */
#include "prng/prng.h"
#include "sim/sim.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/random.h>
#include <time.h>

static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

void prng_seed(struct prng *p, uint64_t seed)
{
	for (int i = 0; i < 4; i++)
		p->s[i] = splitmix64(&seed);
}

uint64_t prng_entropy_seed(void)
{
	if (sim_active()) /* the sim build: from the test's seed, for replay */
		return sim_random();
	uint64_t seed;
	if (getrandom(&seed, sizeof seed, 0) == (ssize_t)sizeof seed)
		return seed;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t prng_next(struct prng *p)
{
	uint64_t *s = p->s;
	uint64_t result = rotl(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;
	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return result;
}

int64_t prng_int63(struct prng *p)
{
	return (int64_t)(prng_next(p) >> 1);
}

int64_t prng_below(struct prng *p, int64_t n)
{
	if (n <= 0) {
		fprintf(stderr, "prng_below: n must be positive, got %lld\n",
		        (long long)n);
		abort();
	}
	/* Rejection sampling: no modulo bias. */
	uint64_t un = (uint64_t)n;
	uint64_t limit = UINT64_MAX - UINT64_MAX % un;
	uint64_t x;
	do
		x = prng_next(p);
	while (x >= limit);
	return (int64_t)(x % un);
}
