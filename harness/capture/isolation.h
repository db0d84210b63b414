// Network namespaces: each experiment can run in a fresh one, with only its own loopback, its own ports and
// TIME-WAIT sockets, and sysctls at their defaults (so an experiment can set tcp_syncookies=0 for itself).
#pragma once

#include <string>

namespace socklab::harness {

// Moves the calling process — an experiment's own (run/child.h) — and so every program it starts from now on, into a
// new network namespace with `lo` up; there is no way back, nor any need.
// As root: unshare(CLONE_NEWNET). Otherwise: once into a new user namespace (we are root there), then
// CLONE_NEWNET. Returns false, with the reason in why_not, where the platform does not allow it.
// The namespace has small TCP and UDP hash tables of its own (so a sock_diag snapshot walks 1024 buckets, not the
// host's 262144) and the TIME-WAIT and SYN-backlog limits of any new namespace: it is made from a parent namespace
// of socklab's own with tcp_child_ehash_entries set there; the host's sysctls are never changed (isolation.cc).
bool enter_new_network_namespace(std::string& why_not);

// For `socklab grade`: moves socklab into a mount namespace of its own (as root; otherwise into a user namespace of
// its own with one, where it is root), with every mount private, so what the grading mounts (its tmpfs) is seen by
// nobody else and vanishes with socklab however it ends. Called once, by the command, before anything else runs.
bool enter_private_mount_namespace(std::string& why_not);

// Writes a net.* sysctl of the current namespace ("net.ipv4.tcp_syncookies", "0"); false + why_not on failure.
bool set_sysctl(const std::string& name, const std::string& value, std::string& why_not);

}  // namespace socklab::harness
