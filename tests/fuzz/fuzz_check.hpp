#pragma once
// Invariant checks for fuzz targets: a violated invariant is a crash libFuzzer records.
#include <cstdio>
#include <cstdlib>

#define RAIND_FUZZ_CHECK(cond)                                                                   \
  do {                                                                                           \
    if (!(cond)) {                                                                               \
      std::fprintf(stderr, "fuzz invariant violated at %s:%d: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                              \
    }                                                                                            \
  } while (0)
