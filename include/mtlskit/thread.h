/*
 * thread.h - the one way the library and the gateway start a thread: with
 * every signal blocked in it, so that signals reach only the thread that
 * handles them (the CLI's or the gateway's main thread).
 */
#ifndef MTLSKIT_THREAD_H
#define MTLSKIT_THREAD_H

#include <pthread.h>

/* pthread_create with all signals blocked in the new thread; the caller's
 * mask is unchanged.  Returns pthread_create's result (0 on success). */
int mtk_thread_spawn(pthread_t *t, void *(*fn)(void *), void *arg);

#endif
