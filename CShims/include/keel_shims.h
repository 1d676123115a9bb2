// Keel's C shim: thin, prefixed wrappers over the Linux syscalls Keel uses.
//
// Rules for this file: static inline helpers and constants only, no logic.
// Every wrapper that can fail returns -errno instead of -1, so Swift reads
// the error in the same expression as the call, with nothing (no ARC, no
// logging) able to clobber errno in between.
//
// The header must not define _GNU_SOURCE: Swift imports it beside Glibc,
// which is built without it, and the two would disagree on struct layouts.
// The few GNU-only calls (accept4) live in keel_shims.c, which is compiled
// with _GNU_SOURCE.
#ifndef KEEL_SHIMS_H
#define KEEL_SHIMS_H

#include <errno.h>
#include <stdio.h>
#include <stdint.h>
#include <string.h>
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <sys/uio.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <poll.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>
#include <fcntl.h>
#include <malloc.h>
#include <sys/syscall.h>
#include <sys/mman.h>
#include <sys/prctl.h>

// MARK: constants (glibc defines several of these as enums or macros that
// Swift imports awkwardly; one typed copy each keeps the Swift side simple).

static const uint32_t keel_EPOLLIN = EPOLLIN;
static const uint32_t keel_EPOLLOUT = EPOLLOUT;
static const uint32_t keel_EPOLLERR = EPOLLERR;
static const uint32_t keel_EPOLLHUP = EPOLLHUP;
static const uint32_t keel_EPOLLRDHUP = EPOLLRDHUP;
static const uint32_t keel_EPOLLET = EPOLLET;
static const int keel_EPOLL_CTL_ADD = EPOLL_CTL_ADD;
static const int keel_EPOLL_CTL_MOD = EPOLL_CTL_MOD;
static const int keel_EPOLL_CLOEXEC = EPOLL_CLOEXEC;
static const int keel_SOCK_NONBLOCK = SOCK_NONBLOCK;
static const int keel_SOCK_CLOEXEC = SOCK_CLOEXEC;
static const int keel_SHUT_WR = SHUT_WR;
static const int keel_EFD_NONBLOCK = EFD_NONBLOCK;
static const int keel_EFD_CLOEXEC = EFD_CLOEXEC;
static const short keel_POLLIN = POLLIN;
static const short keel_POLLOUT = POLLOUT;
static const short keel_POLLERR = POLLERR;
static const short keel_POLLHUP = POLLHUP;
static const short keel_POLLNVAL = POLLNVAL;
/// POLLRDHUP is GNU-only; keel_shims.c checks this value against it.
static const short keel_POLLRDHUP = 0x2000;

// MARK: epoll

static inline int keel_epoll_create1(int flags) {
    int fd = epoll_create1(flags);
    return fd < 0 ? -errno : fd;
}

/// epoll_ctl with the event built here, so Swift never writes the packed
/// struct's unaligned 64-bit field itself.
static inline int keel_epoll_ctl(int epfd, int op, int fd, uint32_t events, uint64_t data) {
    struct epoll_event event;
    memset(&event, 0, sizeof(event));
    event.events = events;
    event.data.u64 = data;
    int rc = epoll_ctl(epfd, op, fd, op == EPOLL_CTL_DEL ? NULL : &event);
    return rc < 0 ? -errno : rc;
}

// The loop's per-message calls (epoll_wait, read, send, sendmsg) enter the
// kernel directly rather than through glibc's wrappers. The wrappers are
// thread cancellation points: once a process has a second thread, glibc
// brackets each call with __pthread_enable/disable_asynccancel, about 90
// instructions per loop iteration (callgrind), and syscall(2) adds a call and
// errno. Keel never cancels threads, so it skips both; the system calls are
// the same. Under a sanitizer the wrappers stay: AddressSanitizer checks
// their buffers and ThreadSanitizer learns from them that a send on one
// thread happens before the matching read on another.
#if defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define KEEL_LIBC_WRAPPERS 1
#endif
#endif

#if !defined(KEEL_LIBC_WRAPPERS) && defined(__x86_64__)
/// A system call with up to six arguments; returns the result or -errno.
static inline long keel_syscall6(long number, long a, long b, long c, long d, long e, long f) {
    long result;
    register long r10 __asm__("r10") = d;
    register long r8 __asm__("r8") = e;
    register long r9 __asm__("r9") = f;
    __asm__ volatile("syscall"
                     : "=a"(result)
                     : "a"(number), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
                     : "rcx", "r11", "memory");
    return result;
}
#elif !defined(KEEL_LIBC_WRAPPERS)
/// A system call with up to six arguments; returns the result or -errno.
static inline long keel_syscall6(long number, long a, long b, long c, long d, long e, long f) {
    long result = syscall(number, a, b, c, d, e, f);
    return result < 0 ? -errno : result;
}
#endif

static inline int keel_epoll_wait(int epfd, struct epoll_event *events, int max_events, int timeout_ms) {
    // epoll_pwait with no signal mask is epoll_wait (and the only form on arm64).
#ifdef KEEL_LIBC_WRAPPERS
    int n = epoll_wait(epfd, events, max_events, timeout_ms);
    return n < 0 ? -errno : n;
#else
    return (int)keel_syscall6(SYS_epoll_pwait, epfd, (long)events, max_events, timeout_ms, 0, 8);
#endif
}

/// Sets the calling thread's timer slack; returns the one it had, or -errno
/// (prctl is variadic: Swift cannot call it).
static inline long keel_set_timer_slack_ns(unsigned long ns) {
    int previous = prctl(PR_GET_TIMERSLACK, 0UL, 0UL, 0UL, 0UL);
    if (previous < 0) return -errno;
    return prctl(PR_SET_TIMERSLACK, ns, 0UL, 0UL, 0UL) < 0 ? -errno : previous;
}

/// epoll_pwait2 (Linux 5.11): a timeout in nanoseconds (keel-bench's open
/// loop sleeping until a message is due). By number, as glibc declares it
/// only from 2.35; -ENOSYS on an older kernel.
static inline int keel_epoll_wait_ns(int epfd, struct epoll_event *events, int max_events, int64_t timeout_ns) {
    struct timespec timeout = { (time_t)(timeout_ns / 1000000000), (long)(timeout_ns % 1000000000) };
    long n = syscall(441 /* epoll_pwait2, the same number on every architecture */, epfd, events, max_events,
                     &timeout, NULL, 8);
    return n < 0 ? -errno : (int)n;
}

/// struct epoll_event is packed on x86_64 (12 bytes, alignment 1): these
/// accessors make the unaligned loads explicit.
static inline uint64_t keel_epoll_event_data(const struct epoll_event *events, int index) {
    uint64_t data;
    memcpy(&data, &events[index].data, sizeof(data));
    return data;
}

static inline uint32_t keel_epoll_event_events(const struct epoll_event *events, int index) {
    uint32_t bits;
    memcpy(&bits, &events[index].events, sizeof(bits));
    return bits;
}

static inline size_t keel_epoll_event_size(void) { return sizeof(struct epoll_event); }

// MARK: poll

static inline int keel_poll(struct pollfd *fds, nfds_t count, int timeout_ms) {
    int n = poll(fds, count, timeout_ms);
    return n < 0 ? -errno : n;
}

// MARK: sockets

static inline int keel_socket_tcp4(void) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
    return fd < 0 ? -errno : fd;
}

static inline int keel_socket_tcp6(void) {
    int fd = socket(AF_INET6, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
    return fd < 0 ? -errno : fd;
}

static inline int keel_setsockopt_int(int fd, int level, int name, int value) {
    int rc = setsockopt(fd, level, name, &value, sizeof(value));
    return rc < 0 ? -errno : rc;
}

static inline int keel_set_reuseaddr(int fd) { return keel_setsockopt_int(fd, SOL_SOCKET, SO_REUSEADDR, 1); }
static inline int keel_set_reuseport(int fd) { return keel_setsockopt_int(fd, SOL_SOCKET, SO_REUSEPORT, 1); }
static inline int keel_set_nodelay(int fd) { return keel_setsockopt_int(fd, IPPROTO_TCP, TCP_NODELAY, 1); }
static inline int keel_set_v6only(int fd, int on) { return keel_setsockopt_int(fd, IPPROTO_IPV6, IPV6_V6ONLY, on); }

/// SO_LINGER with a zero timeout: close() then sends RST instead of FIN.
static inline int keel_set_linger_zero(int fd) {
    struct linger value = { .l_onoff = 1, .l_linger = 0 };
    int rc = setsockopt(fd, SOL_SOCKET, SO_LINGER, &value, sizeof(value));
    return rc < 0 ? -errno : rc;
}

static inline int keel_bind(int fd, const struct sockaddr_storage *address, socklen_t length) {
    int rc = bind(fd, (const struct sockaddr *)address, length);
    return rc < 0 ? -errno : rc;
}

static inline int keel_listen(int fd, int backlog) {
    int rc = listen(fd, backlog);
    return rc < 0 ? -errno : rc;
}

static inline int keel_connect(int fd, const struct sockaddr_storage *address, socklen_t length) {
    int rc = connect(fd, (const struct sockaddr *)address, length);
    return rc < 0 ? -errno : rc;
}

static inline int keel_getsockname(int fd, struct sockaddr_storage *address, socklen_t *length) {
    int rc = getsockname(fd, (struct sockaddr *)address, length);
    return rc < 0 ? -errno : rc;
}

static inline int keel_getsockopt_error(int fd) {
    int value = 0;
    socklen_t length = sizeof(value);
    int rc = getsockopt(fd, SOL_SOCKET, SO_ERROR, &value, &length);
    return rc < 0 ? -errno : value;
}

/// Names the calling thread (shown by top, perf, gdb); at most 15 bytes.
/// Defined in keel_shims.c (pthread_setname_np needs _GNU_SOURCE).
int keel_set_thread_name(const char *name);

/// accept4 (the peer's address may be asked for; Keel passes NULL and reads
/// it later with getpeername, only when it logs the connection). Defined in
/// keel_shims.c (accept4 needs _GNU_SOURCE).
int keel_accept4(int fd, struct sockaddr_storage *address, socklen_t *length, int flags);

static inline ssize_t keel_read(int fd, void *buffer, size_t length) {
#ifdef KEEL_LIBC_WRAPPERS
    ssize_t n = read(fd, buffer, length);
    return n < 0 ? -errno : n;
#else
    return keel_syscall6(SYS_read, fd, (long)buffer, (long)length, 0, 0, 0);
#endif
}

/// send() with MSG_NOSIGNAL: a write to a reset peer returns EPIPE instead of
/// raising SIGPIPE, so no embedding process can be killed by a peer.
static inline ssize_t keel_send(int fd, const void *buffer, size_t length) {
#ifdef KEEL_LIBC_WRAPPERS
    ssize_t n = send(fd, buffer, length, MSG_NOSIGNAL);
    return n < 0 ? -errno : n;
#else
    return keel_syscall6(SYS_sendto, fd, (long)buffer, (long)length, MSG_NOSIGNAL, 0, 0);
#endif
}

/// writev() has no flags argument; sendmsg() is its MSG_NOSIGNAL twin.
static inline ssize_t keel_sendv(int fd, const struct iovec *vectors, int count) {
    struct msghdr message;
    memset(&message, 0, sizeof(message));
    message.msg_iov = (struct iovec *)vectors;
    message.msg_iovlen = (size_t)count;
#ifdef KEEL_LIBC_WRAPPERS
    ssize_t n = sendmsg(fd, &message, MSG_NOSIGNAL);
    return n < 0 ? -errno : n;
#else
    return keel_syscall6(SYS_sendmsg, fd, (long)&message, MSG_NOSIGNAL, 0, 0, 0);
#endif
}

static inline ssize_t keel_write(int fd, const void *buffer, size_t length) {
    ssize_t n = write(fd, buffer, length);
    return n < 0 ? -errno : n;
}

static inline int keel_close(int fd) {
    int rc = close(fd);
    return rc < 0 ? -errno : rc;
}

static inline int keel_shutdown(int fd, int how) {
    int rc = shutdown(fd, how);
    return rc < 0 ? -errno : rc;
}

// MARK: eventfd, signals, clock

static inline int keel_eventfd(unsigned int initial, int flags) {
    int fd = eventfd(initial, flags);
    return fd < 0 ? -errno : fd;
}

/// A non-blocking, close-on-exec timer descriptor on CLOCK_MONOTONIC.
static inline int keel_timerfd_create(void) {
    int fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    return fd < 0 ? -errno : fd;
}

/// Arms the timer to expire once at `milliseconds` of CLOCK_MONOTONIC (> 0).
static inline int keel_timerfd_arm_at_ms(int fd, int64_t milliseconds) {
    struct itimerspec when;
    memset(&when, 0, sizeof(when));
    when.it_value.tv_sec = (time_t)(milliseconds / 1000);
    when.it_value.tv_nsec = (long)(milliseconds % 1000) * 1000000L;
    int rc = timerfd_settime(fd, TFD_TIMER_ABSTIME, &when, NULL);
    return rc < 0 ? -errno : rc;
}

static inline int keel_ignore_signal(int signal) {
    struct sigaction action;
    memset(&action, 0, sizeof(action));
    action.sa_handler = SIG_IGN;
    int rc = sigaction(signal, &action, NULL);
    return rc < 0 ? -errno : rc;
}

static inline int64_t keel_monotonic_ns(void) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;
}

/// Anonymous private memory straight from the kernel, or NULL.
static inline void *keel_map_memory(size_t bytes) {
    void *block = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return block == MAP_FAILED ? NULL : block;
}

/// Returns memory from keel_map_memory to the kernel.
static inline int keel_unmap_memory(void *block, size_t bytes) {
    int rc = munmap(block, bytes);
    return rc < 0 ? -errno : rc;
}

/* Hands free heap pages of every malloc arena back to the kernel. */
static inline void keel_release_free_heap(void) {
    malloc_trim(0);
}

/* snprintf(buffer, size, "%.17g", value): Swift reaches C's variadic
   snprintf only through a heap-allocated va_list, once per score written. */
static inline int keel_format_double_g17(char *buffer, size_t size, double value) {
    return snprintf(buffer, size, "%.17g", value);
}

/* Turns malloc's fast bins off: freed small blocks are merged with their
   neighbours at once instead of all together later. */
static inline void keel_disable_fast_bins(void) {
    mallopt(M_MXFAST, 0);
}

#endif
