// Every word the reports say to a student about a timeline — the text timeline (--timeline), the HTML report,
// its state diagram and its step-through — in one place, for translation (a Chinese version will follow:
// replace the bodies here; word order is the functions' business, not their callers'). Technical names stay
// as they are: TCP states (ss's names), flags, calls such as close().
#pragma once

#include <cstddef>
#include <string>

namespace socklab::harness::text {

// Why a connection changed state: the call or segment behind each edge of the TCP state diagram (RFC 9293,
// figure 5) and the few the figure leaves out (RST, timers, what Linux does when a socket is closed).
inline std::string cause_listen() {
  return "listen()";
}
inline std::string cause_connect() {
  return "connect(): SYN sent";
}
inline std::string cause_syn_received() {
  return "SYN received; SYN,ACK sent";
}
inline std::string cause_syn_ack_received() {
  return "SYN,ACK received; ACK sent";
}
inline std::string cause_simultaneous_open() {
  return "SYN received; ACK sent (simultaneous open)";
}
inline std::string cause_ack_of_syn() {
  return "ACK of its SYN received";
}
inline std::string cause_close_sends_fin() {
  return "close() or shutdown(): FIN sent";
}
inline std::string cause_fin_received() {
  return "FIN received";
}
inline std::string cause_ack_of_fin() {
  return "ACK of its FIN received";
}
inline std::string cause_fin_and_ack_received() {
  return "FIN and the ACK of its FIN received";
}
inline std::string cause_time_wait_over() {
  return "2 MSL timer expired (60 s on Linux)";
}
inline std::string cause_close() {
  return "close()";
}
inline std::string cause_rst_received() {
  return "RST received";
}
inline std::string cause_rst_sent() {
  return "RST sent (data for a socket nobody reads)";
}
inline std::string cause_handover() {
  return "handed over to a timewait mini-socket (Linux)";
}
inline std::string cause_fin_wait_2_timeout() {
  return "FIN-WAIT-2 timer expired (tcp_fin_timeout)";
}
inline std::string cause_syn_timeout() {
  return "no answer to its SYNs: connect() gave up, or close()";
}
inline std::string cause_gone() {
  return "no longer seen by sock_diag";
}
inline std::string cause_unknown() {
  return "closed";
}

// The text timeline.
inline std::string timeline_heading(const std::string& source) {
  return "timeline — source: " + source;
}
inline std::string timeline_connections() {
  return "connections (states, exact times since the experiment started):";
}
inline std::string seen_by_sock_diag() {
  return "(seen by sock_diag)";
}
inline std::string timewait_mini_socket() {
  return "(timewait mini-socket)";
}
inline std::string not_caught(const std::string& what) {
  return "not caught (too brief): " + what;
}
inline std::string timeline_in_order() {
  return "in event order (#: step number in the HTML report; time since the start; span since the previous "
         "event):";
}
inline std::string idle(const std::string& span) {
  return "⋯ " + span + " ⋯";
}
inline std::string check_passed(const std::string& name) {
  return "✔ " + name;
}
inline std::string check_failed(const std::string& name) {
  return "✘ " + name;
}
inline std::string snapshot_taken(const std::string& title) {
  return "snapshot: " + title;
}
inline std::string retransmission() {
  return "(retransmission)";
}
inline std::string bytes(std::size_t n) {
  return std::to_string(n) + " B";
}

// The state diagram: its edges as RFC 9293's figure 5 labels them (event / action), and what is said around
// it.
inline std::string edge_listen() {
  return "listen()";
}
inline std::string edge_connect() {
  return "connect() / snd SYN";
}
inline std::string edge_syn_received() {
  return "rcv SYN / snd SYN,ACK";
}
inline std::string edge_send_from_listen() {
  return "send / snd SYN";
}
inline std::string edge_simultaneous_open() {
  return "rcv SYN / snd ACK";
}
inline std::string edge_ack_of_syn() {
  return "rcv ACK of SYN";
}
inline std::string edge_syn_ack() {
  return "rcv SYN,ACK / snd ACK";
}
inline std::string edge_close_fin() {
  return "close() / snd FIN";
}
inline std::string edge_fin() {
  return "rcv FIN / snd ACK";
}
inline std::string edge_ack_of_fin() {
  return "rcv ACK of FIN";
}
inline std::string edge_fin_and_ack() {
  return "rcv FIN+ACK / snd ACK";
}
inline std::string edge_two_msl() {
  return "timeout 2 MSL";
}
inline std::string edge_close() {
  return "close()";
}
inline std::string edge_syn_sent_close() {
  return "close() / timeout";
}
inline std::string diagram_heading() {
  return "The TCP state diagram (RFC 9293, figure 5)";
}
inline std::string diagram_about() { return "Connection:"; }
inline std::string diagram_aria() {
  return "TCP state diagram with the chosen connection's path";
}
inline std::string path_item(const std::string& from, const std::string& to) {
  return from + " → " + to;
}
inline std::string at_step(std::size_t step) {
  return "step " + std::to_string(step);
}

// The HTML timeline and its step-through.
inline std::string timeline_title() {
  return "Timeline";
}
inline std::string source(const std::string& source) {
  return "source: " + source;
}
inline std::string timeline_about() {
  return "How to read the timelines: one column per event, in the order they happened, its time above it (+: "
         "since the previous event); idle stretches are compressed and marked ⋯ with their length. Lanes: one "
         "per socket, coloured by TCP state; arrows: TCP segments from the sender's lane to the receiver's (SYN "
         "yellow, FIN blue, RST red, others grey). Step through with the buttons, the slider or the arrow keys "
         "(the address takes #step=N). The state diagram lights the chosen connection's path, its transitions "
         "numbered in order; states it never visited are dimmed; dashed: what the figure leaves out (an RST, a "
         "socket that vanished).";
}
inline std::string view_events() {
  return "event order";
}
inline std::string view_linear() {
  return "linear time";
}
inline std::string step_first() {
  return "first event";
}
inline std::string step_previous() {
  return "previous event";
}
inline std::string step_play() {
  return "play";
}
inline std::string step_pause() {
  return "pause";
}
inline std::string step_next() {
  return "next event";
}
inline std::string step_last() {
  return "last event";
}
inline std::string step_slider() {
  return "event";
}
inline std::string step_controls() {
  return "step through the events";
}
// "step 5 of 80": the script fills in {1} and {2}.
inline std::string step_of() {
  return "step {1} of {2}";
}
inline std::string all_events(std::size_t n) {
  return "All " + std::to_string(n) + " events in order";
}
inline std::string sockets_now() {
  return "Sockets at this step (as ss would show them)";
}
inline std::string queues_as_of() { return "queues as of"; }
// "step 59", for the script: it fills in {1}.
inline std::string at_step_pattern() { return "step {1}"; }
inline std::string sockets_now_about() {
  return "Reconstructed: the state from the timeline (exact); queues and process from the latest snapshot that "
         "saw the socket in that state, at the step shown (? before one did): they may have changed since.";
}
inline std::string no_sockets() {
  return "(no sockets)";
}
inline std::string legend() {
  return "States:";
}
inline std::string step_marker() {
  return "harness step";
}

// The rest of the HTML report.
inline std::string report_title() {
  return "socklab report";
}
inline std::string summary(std::size_t experiments, int passed, int points, int max_points) {
  return std::to_string(experiments) + " experiments, " + std::to_string(passed) + " passed; points " +
         std::to_string(points) + "/" + std::to_string(max_points);
}
inline std::string points_of(int points, int max_points) {
  return std::to_string(points) + "/" + std::to_string(max_points) + " points";
}
inline std::string observation_only() {
  return "observation only";
}
inline std::string sockets_via(const std::string& capture) {
  return "sockets via " + capture;
}
inline std::string stopped(const std::string& why) {
  return "stopped: " + why;
}
inline std::string expected(const std::string& what) {
  return "expected: " + what;
}
inline std::string but_was(const std::string& what) {
  return "but was: " + what;
}
inline std::string hint(const std::string& what) {
  return "hint: " + what;
}
inline std::string packets_title() {
  return "Packets on the wire";
}
inline std::string segments_on_lo(std::size_t n) {
  return std::to_string(n) + " TCP segments on lo";
}
inline std::string pcap(const std::string& path) {
  return "pcap: " + path;
}
inline std::string client(const std::string& endpoint) {
  return "client " + endpoint;
}
inline std::string server(const std::string& endpoint) {
  return "server " + endpoint;
}

// --- measurements and charts (<measure>, <chart>) ---------------------------------------------------------------
inline std::string measurements_heading() {
  return "Measurements";
}
inline std::string measurements_about() {
  return "Numbers read from the programs' output. They earn no points: a speed depends on the machine; a ratio to "
         "the baseline, measured in the same run, does not.";
}
inline std::string measured() {
  return "measured:";
}
inline std::string ratio_to(const std::string& ratio, const std::string& baseline) {
  return ratio + " " + baseline;
}
inline std::string ratio_heading(const std::string& series, const std::string& baseline) {
  return series + " ÷ " + baseline;
}
inline std::string chart_data_csv() {
  return "data (CSV)";
}
inline std::string chart_aria(const std::string& title) {
  return "chart: " + title;
}

}  // namespace socklab::harness::text
