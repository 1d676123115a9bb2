/*
 * A minimal hand-written C epoll echo server for Keel's frame format
 * (4-byte little-endian length, then the payload): the near-the-limit
 * reference Keel is measured against.
 *
 * Single thread, level-triggered, one read per readiness straight into the
 * connection's buffer; every complete frame in it is written back with one
 * write; what the socket does not take waits in an output buffer with
 * EPOLLOUT armed until it drains (reading pauses meanwhile).
 *
 * Usage: echo-c PORT [MAX_MESSAGE_BYTES]
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

struct conn {
    int fd;
    uint8_t *in;      /* received bytes: complete frames, then a partial one */
    size_t in_len, in_cap;
    uint8_t *out;     /* bytes the socket did not take */
    size_t out_len, out_off, out_cap;
};

static size_t max_message = 1 << 20;
static int epfd;

static int ensure(uint8_t **buf, size_t *cap, size_t need) {
    if (need <= *cap) return 0;
    size_t cap2 = *cap ? *cap : 4096;
    while (cap2 < need) cap2 *= 2;
    uint8_t *p = realloc(*buf, cap2);
    if (!p) return -1;
    *buf = p;
    *cap = cap2;
    return 0;
}

static void drop(struct conn *c) {
    close(c->fd);
    free(c->in);
    free(c->out);
    free(c);
}

static void set_events(struct conn *c, uint32_t events) {
    struct epoll_event ev = {.events = events, .data.ptr = c};
    epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev);
}

/* Writes out[off..len); returns -1 on error, 1 if all written, 0 if pending. */
static int flush_out(struct conn *c) {
    while (c->out_off < c->out_len) {
        ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN) return 0;
            return -1;
        }
        c->out_off += (size_t)n;
    }
    c->out_off = c->out_len = 0;
    return 1;
}

static int on_readable(struct conn *c) {
    if (ensure(&c->in, &c->in_cap, c->in_len + 65536) < 0) return -1;
    ssize_t n = read(c->fd, c->in + c->in_len, c->in_cap - c->in_len);
    if (n == 0) return -1;
    if (n < 0) return (errno == EAGAIN || errno == EINTR) ? 0 : -1;
    c->in_len += (size_t)n;
    size_t done = 0;
    for (;;) {
        if (c->in_len - done < 4) break;
        uint32_t len;
        memcpy(&len, c->in + done, 4);
        if (len > max_message) return -1;
        if (c->in_len - done - 4 < len) {
            if (ensure(&c->in, &c->in_cap, (size_t)len + 4) < 0) return -1;
            break;
        }
        done += 4 + (size_t)len;
    }
    if (done > 0) {
        ssize_t w = send(c->fd, c->in, done, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno != EAGAIN && errno != EINTR) return -1;
            w = 0;
        }
        if ((size_t)w < done) {
            size_t rest = done - (size_t)w;
            if (ensure(&c->out, &c->out_cap, rest) < 0) return -1;
            memcpy(c->out, c->in + w, rest);
            c->out_len = rest;
            c->out_off = 0;
            set_events(c, EPOLLOUT);
        }
        memmove(c->in, c->in + done, c->in_len - done);
        c->in_len -= done;
    }
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s PORT [MAX_MESSAGE_BYTES]\n", argv[0]);
        return 64;
    }
    if (argc > 2) max_message = strtoul(argv[2], NULL, 10);
    signal(SIGPIPE, SIG_IGN);
    int listener = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[1])),
                               .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (bind(listener, (struct sockaddr *)&addr, sizeof(addr)) < 0 || listen(listener, 1024) < 0) {
        perror("bind/listen");
        return 1;
    }
    epfd = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
    epoll_ctl(epfd, EPOLL_CTL_ADD, listener, &ev);
    fprintf(stderr, "echo-c listening on 127.0.0.1:%s\n", argv[1]);
    struct epoll_event ready[1024];
    for (;;) {
        int n = epoll_wait(epfd, ready, 1024, -1);
        for (int i = 0; i < n; i++) {
            struct conn *c = ready[i].data.ptr;
            if (c == NULL) {
                for (;;) {
                    int fd = accept4(listener, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
                    if (fd < 0) break;
                    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
                    struct conn *nc = calloc(1, sizeof(*nc));
                    nc->fd = fd;
                    struct epoll_event cev = {.events = EPOLLIN, .data.ptr = nc};
                    epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &cev);
                }
                continue;
            }
            uint32_t events = ready[i].events;
            if (events & (EPOLLERR | EPOLLHUP) && !(events & EPOLLIN)) {
                drop(c);
            } else if (events & EPOLLOUT) {
                int r = flush_out(c);
                if (r < 0) drop(c);
                else if (r == 1) set_events(c, EPOLLIN);
            } else if (on_readable(c) < 0) {
                drop(c);
            }
        }
    }
}
