// The GNU-only helpers (compiled here with _GNU_SOURCE, see the header) and
// compile-time checks on the layouts the Swift side relies on.
#ifndef _GNU_SOURCE
#error "keel_shims.h must be compiled with _GNU_SOURCE (accept4, EPOLLRDHUP, POLLRDHUP)"
#endif
#include "keel_shims.h"
#include <pthread.h>

#if defined(__x86_64__)
_Static_assert(sizeof(struct epoll_event) == 12, "epoll_event is packed on x86_64");
#else
_Static_assert(sizeof(struct epoll_event) == 16, "epoll_event is naturally aligned off x86_64");
#endif
_Static_assert(sizeof(((struct epoll_event *)0)->data) == 8, "epoll user data is 64 bits");
_Static_assert(sizeof(struct iovec) == 2 * sizeof(void *), "iovec is base + length");
_Static_assert(sizeof(struct pollfd) == 8, "pollfd is fd, events, revents");
_Static_assert(sizeof(struct sockaddr_storage) >= sizeof(struct sockaddr_in6), "storage holds IPv6");
_Static_assert(POLLRDHUP == 0x2000, "keel_POLLRDHUP in the header must match glibc");

int keel_accept4(int fd, struct sockaddr_storage *address, socklen_t *length, int flags) {
    int client = accept4(fd, (struct sockaddr *)address, length, flags);
    return client < 0 ? -errno : client;
}

int keel_set_thread_name(const char *name) {
    return -pthread_setname_np(pthread_self(), name);
}
