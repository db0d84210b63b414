// The timeline's exact source: a BPF program on the tracepoint sock:inet_sock_set_state that keeps the TCP state
// changes of the experiment's ports in a ring buffer, for socklab (timeline.cc) to read in binary form.
//
// Why not a tracefs instance: the tracepoint's ftrace event builds every call's full record (IPv6 addresses included)
// in a per-CPU buffer, filters it there and copies each matching one into the instance's ring buffer. Here the
// program looks at the two ports first and gathers the matching changes per CPU, 32 to a copy into the ring buffer
// (timeline_bench, a connect/close workload recorded whole: ~4 % slower instead of 6-8 %, of which ~2 % is the
// enabled tracepoint itself). Nothing outlives socklab either: the kernel frees the program and its buffers when
// socklab's descriptors close, however it ends.
//
// Compiled with clang -target bpf (see harness/CMakeLists.txt). Field offsets are relocated to the running kernel by
// libbpf (CO-RE, from /sys/kernel/btf/vmlinux): only the fields read here are declared, with the kernel's names.
#include <linux/bpf.h>
#include <linux/types.h>

#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "timeline.bpf.h"

#define AF_INET6 10

struct in6_addr {
  union {
    __u32 u6_addr32[4];
  } in6_u;
} __attribute__((preserve_access_index));

struct sock_common {
  __be32 skc_daddr;
  __be32 skc_rcv_saddr;
  __be16 skc_dport;
  unsigned short skc_family;
  struct in6_addr skc_v6_daddr;
  struct in6_addr skc_v6_rcv_saddr;
} __attribute__((preserve_access_index));

struct sock {
  struct sock_common __sk_common;
  __u16 sk_protocol;
} __attribute__((preserve_access_index));

struct inet_sock {
  __be16 inet_sport;
} __attribute__((preserve_access_index));

struct inet_connection_sock {
  struct inet_sock icsk_inet;
} __attribute__((preserve_access_index));

struct tcp_sock {
  struct inet_connection_sock inet_conn;
} __attribute__((preserve_access_index));

struct {
  __uint(type, BPF_MAP_TYPE_RINGBUF);
  __uint(max_entries, 4 << 20);  // 4 MiB: ~74,000 changes between two reads
} events SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct timeline_batch);
} batch SEC(".maps");  // each CPU's changes not yet in the ring buffer

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct timeline_config);
} config SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, __u64);
} lost SEC(".maps");  // changes dropped because the ring buffer was full

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, __u32);
} woken SEC(".maps");  // 1 from a wake-up until socklab's reader has emptied the buffer (it resets it)

SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(on_state_change, const struct sock* sk, int oldstate, int newstate) {
  __u32 zero = 0;
  struct timeline_config* c = bpf_map_lookup_elem(&config, &zero);
  // TCP only (the tracepoint also reports SCTP and MPTCP sockets); a typed pointer to read inet_sport through
  struct tcp_sock* tcp = bpf_skc_to_tcp_sock((void*)sk);
  if (!c || !tcp) return 0;
  // the ports the tracefs event reports: inet_sport stays set after close() has released the port (skc_num not)
  __u16 sport = __builtin_bswap16(tcp->inet_conn.icsk_inet.inet_sport);
  __u16 dport = __builtin_bswap16(sk->__sk_common.skc_dport);
  int ours = 0;
  for (__u32 i = 0; i < TIMELINE_MAX_PORTS && i < c->port_count; i++) {
    if (c->ports[i] == sport || c->ports[i] == dport) {
      ours = 1;
      break;
    }
  }
  if (!ours) return 0;

  // Neither preemption (off in tracepoints) nor an interrupt (the kernel does not run the program inside itself on a
  // CPU) can come between two uses of this CPU's batch.
  struct timeline_batch* b = bpf_map_lookup_elem(&batch, &zero);
  if (!b) return 0;
  __u32 n = b->count;
  if (n >= TIMELINE_BATCH) n = 0;  // (never: for the verifier)
  struct timeline_event* e = &b->events[n];
  e->at_ns = bpf_ktime_get_ns();
  e->oldstate = oldstate;
  e->newstate = newstate;
  e->sport = sport;
  e->dport = dport;
  e->family = sk->__sk_common.skc_family;
  e->unused = 0;
  __u32* s = (__u32*)e->saddr;
  __u32* d = (__u32*)e->daddr;
  if (e->family == AF_INET6) {
    for (int i = 0; i < 4; i++) {
      s[i] = sk->__sk_common.skc_v6_rcv_saddr.in6_u.u6_addr32[i];
      d[i] = sk->__sk_common.skc_v6_daddr.in6_u.u6_addr32[i];
    }
  } else {
    s[0] = sk->__sk_common.skc_rcv_saddr;
    d[0] = sk->__sk_common.skc_daddr;
    for (int i = 1; i < 4; i++) s[i] = d[i] = 0;
  }
  b->count = n + 1;
  if (n + 1 < TIMELINE_BATCH) return 0;

  // A full batch goes into the ring buffer. The reader sleeps until a good part of the buffer is full (or socklab
  // stops it): one wake-up per thousands of changes instead of one per change. Woken once: every wake-up costs this
  // CPU an interrupt, so none more until the reader has caught up, however long it takes to get a CPU.
  b->count = 0;
  __u64 flags = BPF_RB_NO_WAKEUP;
  if (bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) >= c->wakeup_bytes) {
    __u32* w = bpf_map_lookup_elem(&woken, &zero);
    if (w && !*w) {
      *w = 1;  // (two CPUs may both wake it: harmless)
      flags = BPF_RB_FORCE_WAKEUP;
    }
  }
  if (bpf_ringbuf_output(&events, b->events, sizeof b->events, flags) != 0) {
    __u64* lost_count = bpf_map_lookup_elem(&lost, &zero);
    if (lost_count) __sync_fetch_and_add(lost_count, TIMELINE_BATCH);
  }
  return 0;
}

char LICENSE[] SEC("license") = "GPL";  // the kernel lets only GPL-compatible programs use its tracing helpers
