#pragma once
// The outbox's operation names, written once: the sync layer stores its
// intents under them and the store requeues dead letters as `retry`.
#include <string_view>

namespace peoplesync::state::op {

inline constexpr std::string_view job_add = "job.add";
inline constexpr std::string_view job_modify = "job.modify";
inline constexpr std::string_view job_status = "job.status";
inline constexpr std::string_view job_delete = "job.delete";
inline constexpr std::string_view timelog_add = "timelog.add";
inline constexpr std::string_view timelog_edit = "timelog.edit";
inline constexpr std::string_view timelog_delete = "timelog.delete";
inline constexpr std::string_view crm_update = "crm.update";
// A parked or re-queued record: the payload holds the source record.
inline constexpr std::string_view retry = "retry";

}  // namespace peoplesync::state::op
