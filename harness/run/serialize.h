// An experiment's result and the reporter's events as JSON values: how the experiment's own process hands
// them to socklab's (run/child.h). One to_json/from_json pair per struct, all in serialize.cc; from_json is
// strict (a missing key or a wrong type throws nlohmann::json::exception), and a value read back compares
// equal to the one written.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include "run/results.h"

namespace socklab::harness {

void to_json(nlohmann::json& j, const SocketOwner& o);
void from_json(const nlohmann::json& j, SocketOwner& o);
void to_json(nlohmann::json& j, const SocketInfo& s);
void from_json(const nlohmann::json& j, SocketInfo& s);
void to_json(nlohmann::json& j, const Packet& p);
void from_json(const nlohmann::json& j, Packet& p);
void to_json(nlohmann::json& j, const LaneState& s);
void from_json(const nlohmann::json& j, LaneState& s);
void to_json(nlohmann::json& j, const Lane& l);
void from_json(const nlohmann::json& j, Lane& l);
void to_json(nlohmann::json& j, const Timeline& t);
void from_json(const nlohmann::json& j, Timeline& t);
void to_json(nlohmann::json& j, const StepRecord& s);
void from_json(const nlohmann::json& j, StepRecord& s);
void to_json(nlohmann::json& j, const CheckResult& c);
void from_json(const nlohmann::json& j, CheckResult& c);
void to_json(nlohmann::json& j, const SnapshotRecord& s);
void from_json(const nlohmann::json& j, SnapshotRecord& s);
void to_json(nlohmann::json& j, const ProcessRecord& p);
void from_json(const nlohmann::json& j, ProcessRecord& p);
void to_json(nlohmann::json& j, const ChartSpec& c);
void from_json(const nlohmann::json& j, ChartSpec& c);
void to_json(nlohmann::json& j, const MeasurementRecord::Point& p);
void from_json(const nlohmann::json& j, MeasurementRecord::Point& p);
void to_json(nlohmann::json& j, const MeasurementRecord& m);
void from_json(const nlohmann::json& j, MeasurementRecord& m);
void to_json(nlohmann::json& j, const ExperimentResult& r);
void from_json(const nlohmann::json& j, ExperimentResult& r);

// A JSON value as bytes and back, exactly: MessagePack, because program output is any bytes (a JSON text
// would have to be UTF-8) and a double keeps all its bits. from_bytes throws nlohmann::json::exception on
// malformed input.
std::string to_bytes(const nlohmann::json& j);
nlohmann::json from_bytes(const std::string& bytes);

}  // namespace socklab::harness
