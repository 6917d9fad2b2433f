#pragma once
// The outbox payloads, typed: what the sync layer stores with each write
// intent (to recognise the write when People is read back after a crash or
// an in-doubt reply), with each parked record (the source record, so it can
// be written later without reading the source again) and with each dead
// letter. The one place where these payloads are encoded and decoded; the
// operation names are state/outbox_ops.hpp's.
#include <optional>
#include <string>
#include <string_view>

#include "common/value.hpp"

namespace peoplesync::sync {

// A job add or modify (op job.add / job.modify). The form has no
// description: a job is known by its name, project and dates (yyyy-MM-dd).
struct JobIntent {
  std::string hash;  // the id-map hash the job gets once confirmed
  std::string name, project, from, to;
};

// A time-log add or edit (op timelog.add / timelog.edit).
struct TimelogIntent {
  std::string hash;
  std::string user, job_id, date, hours, work_item;
};

// A job status change (op job.status).
struct StatusIntent {
  std::string status;
};

// A record that waits (op retry): parked, or re-queued by `peoplesync retry`.
struct WaitingRecord {
  Value record;  // the source record
  std::string reason;
  int attempts = 0;
};

std::string encode(const JobIntent& i);
std::string encode(const TimelogIntent& i);
std::string encode(const StatusIntent& i);
std::string encode(const WaitingRecord& w);
// The payload of an intent that carries nothing (deletes, CRM updates).
std::string empty_intent();
// The payload of a dead letter: the source record, for `peoplesync retry`.
std::string dead_letter_payload(const Value& record);

// Decoding never fails: a field missing from the payload is empty (a payload
// that is not JSON decodes as all-empty).
JobIntent decode_job_intent(std::string_view payload);
TimelogIntent decode_timelog_intent(std::string_view payload);
// The source record of a parked or dead-lettered record (null when absent).
Value decode_waiting_record(std::string_view payload);

}  // namespace peoplesync::sync
