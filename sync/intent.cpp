#include "sync/intent.hpp"

#include "common/json.hpp"
#include "connectors/crm.hpp"
#include "sync/mapper.hpp"

namespace peoplesync::sync {

std::string encode(const JobIntent& i) {
  json::Writer w;
  w.begin_object()
      .field("hash", i.hash)
      .field("name", i.name)
      .field("project", i.project)
      .field("from", i.from)
      .field("to", i.to)
      .end_object();
  return w.str();
}

std::string encode(const TimelogIntent& i) {
  json::Writer w;
  w.begin_object()
      .field("hash", i.hash)
      .field("user", i.user)
      .field("jobId", i.job_id)
      .field("date", i.date)
      .field("hours", i.hours)
      .field("workItem", i.work_item)
      .end_object();
  return w.str();
}

std::string encode(const StatusIntent& i) {
  json::Writer w;
  w.begin_object().field("status", i.status).end_object();
  return w.str();
}

std::string encode(const WaitingRecord& r) {
  json::Writer w;
  w.begin_object().key("record").raw(to_json(r.record)).field("reason", r.reason).field("attempts", r.attempts);
  w.end_object();
  return w.str();
}

std::string empty_intent() { return "{}"; }

std::string dead_letter_payload(const Value& record) {
  json::Writer w;
  w.begin_object().key("record").raw(to_json(record)).end_object();
  return w.str();
}

JobIntent decode_job_intent(std::string_view payload) {
  const Value p = connectors::value_from_json(payload);
  return {text_of(p, "hash"), text_of(p, "name"), text_of(p, "project"), text_of(p, "from"), text_of(p, "to")};
}

TimelogIntent decode_timelog_intent(std::string_view payload) {
  const Value p = connectors::value_from_json(payload);
  return {text_of(p, "hash"),  text_of(p, "user"),  text_of(p, "jobId"),
          text_of(p, "date"),  text_of(p, "hours"), text_of(p, "workItem")};
}

Value decode_waiting_record(std::string_view payload) {
  const Value p = connectors::value_from_json(payload);
  const Value* rec = p.get("record");
  return rec ? *rec : Value{};
}

}  // namespace peoplesync::sync
