/*
 * throwaway.h - what the fuzz targets share: a silenced log, and a store
 * in a fresh temporary directory, made once per process and removed at
 * its exit.  Not thread-safe: a fuzz target runs one input at a time.
 */
#ifndef ARTIFACTFS_FUZZ_THROWAWAY_H
#define ARTIFACTFS_FUZZ_THROWAWAY_H

#include "store.h"

/* The fixed id the throwaway store answers to, so that committed seeds
 * (checkpoints, export signatures) name it. */
#define FUZZ_STORE_ID "f0220f0220f0220f0220f0220f022000"

/** Drops the store's log lines (a fuzzer feeds it garbage on purpose;
 * ARTIFACTFS_FUZZ_LOG=1 keeps them). */
void fuzz_quiet(void);

/**
 * The process's throwaway store: journal on, signing key made, keys in
 * its own key directory, and artifact "a" (v1, alias "latest"), pipeline
 * "p", run "r" (open) and step "s" with an outputs entry "x" in it, so
 * that scans under them have parents.  Exits the process on failure.
 */
struct store *fuzz_store(void);

/** Closes the throwaway store and removes its directory (a process that
 * exits without it leaves the store open and only removes the files). */
void fuzz_store_done(void);

/** A caller for the throwaway store's own changes (uid 0, "fuzz"). */
const struct store_caller *fuzz_caller(void);

#endif
