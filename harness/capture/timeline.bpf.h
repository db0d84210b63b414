// What the timeline's BPF program (timeline.bpf.c) and socklab (timeline.cc) share: the record of one TCP state change
// and the program's settings.
#pragma once

#include <linux/types.h>

#define TIMELINE_MAX_PORTS 64

// One call of the tracepoint sock:inet_sock_set_state, with the fields the tracefs event has (same meaning, binary).
struct timeline_event {
  __u64 at_ns;                // bpf_ktime_get_ns(): CLOCK_MONOTONIC, the clock of the harness's steady_clock
  __s32 oldstate, newstate;   // TCP_ESTABLISHED (1) ... TCP_NEW_SYN_RECV (12), as the kernel numbers them
  __u16 sport, dport;         // host order; sport 0: a connect() reports SYN-SENT before its port is chosen
  __u16 family;               // AF_INET or AF_INET6
  __u16 unused;
  __u8 saddr[16], daddr[16];  // AF_INET: the first 4 bytes
};

// Changes are gathered per CPU and go into the ring buffer 32 at a time: one reservation (a lock shared by all CPUs)
// per 32 changes. socklab takes the last, partial batches from the per-CPU map at the end.
#define TIMELINE_BATCH 32
struct timeline_batch {
  __u32 count;
  __u32 unused;
  struct timeline_event events[TIMELINE_BATCH];
};

// Set by socklab before it attaches the program (an array map of one element).
struct timeline_config {
  __u16 ports[TIMELINE_MAX_PORTS];  // the experiment's ports: a transition is recorded if either end uses one
  __u32 port_count;
  __u32 wakeup_bytes;  // wake socklab's reader once this much waits in the ring buffer (not at every event)
};
