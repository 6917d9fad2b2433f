#include "connectors/scopes.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <utility>

#include "common/text.hpp"
#include "config/config.hpp"

namespace peoplesync::connectors::scopes {
namespace {

struct PeopleRule {
  std::string_view endpoint;
  std::string_view scope;
};

// Reads of the time tracker need .READ; its writes .ALL (which covers the
// reads too). Forms: insert, update and the employee view each their own.
constexpr std::array<PeopleRule, 18> kPeople{{
    {"getprojects", kTimetrackerRead},
    {"getclients", kTimetrackerRead},
    {"getjobs", kTimetrackerRead},
    {"getjobdetails", kTimetrackerRead},
    {"gettimelogs", kTimetrackerRead},
    {"getRecordIdsByReferenceIds", kTimetrackerRead},
    {"addupdatetimelogs", kTimetrackerAll},
    {"deletetimelog", kTimetrackerAll},
    {"modifyjobstatus", kTimetrackerAll},
    {"deletejob", kTimetrackerAll},
    {"addjob", kTimetrackerAll},
    {"modifyjob", kTimetrackerAll},
    {"insertRecord", kFormsCreate},
    {"updateRecord", kFormsUpdate},
    {"records", kFormsRead},
    {"getRecords", kFormsRead},
    {"P_EmployeeView", kFormsRead},
    {"employee", kFormsRead},
}};

// CRM's standard modules have a scope of their own; any other module
// (custom ones) is covered by ZohoCRM.modules.custom.*.
constexpr std::array<std::string_view, 20> kStandardModules{
    "leads",    "accounts", "contacts",  "deals",    "campaigns", "tasks",     "cases",
    "events",   "calls",    "solutions", "products", "vendors",   "pricebooks", "quotes",
    "salesorders", "purchaseorders", "invoices", "notes", "attachments", "activities"};

std::string lower(std::string_view s) { return ascii_lower(s); }

class Collector {
 public:
  void add(std::string_view scope, std::string why) {
    for (auto& n : needs_)
      if (n.scope == scope) return;
    needs_.push_back({std::string(scope), std::move(why)});
  }
  std::vector<Need> take() && {
    // .ALL of the time tracker covers .READ: ask for one of them only.
    const bool all = std::any_of(needs_.begin(), needs_.end(), [](const Need& n) { return n.scope == kTimetrackerAll; });
    if (all) std::erase_if(needs_, [](const Need& n) { return n.scope == kTimetrackerRead; });
    std::stable_sort(needs_.begin(), needs_.end(), [](const Need& a, const Need& b) {
      const bool pa = a.scope.rfind("ZOHOPEOPLE", 0) == 0, pb = b.scope.rfind("ZOHOPEOPLE", 0) == 0;
      return pa && !pb;
    });
    return std::move(needs_);
  }

 private:
  std::vector<Need> needs_;
};

void people_target(const config::Stream& s, Collector& c) {
  const std::string who = "stream " + s.name;
  if (s.to == config::Target::people_job) {
    c.add(kFormsCreate, who + " adds jobs (forms insertRecord)");
    c.add(kFormsUpdate, who + " updates jobs (forms updateRecord)");
    c.add(kFormsRead, who + " finds assignees' erecnos (employee records)");
    c.add(kTimetrackerRead, who + " reads People projects and jobs");
    if (s.status || s.on_delete == config::OnDelete::complete)
      c.add(kTimetrackerAll, who + " changes job status (modifyjobstatus)");
    if (s.on_delete == config::OnDelete::del) c.add(kTimetrackerAll, who + " deletes jobs (deletejob)");
  } else if (s.to == config::Target::people_timelog) {
    c.add(kTimetrackerAll, who + " writes time logs (addupdatetimelogs)");
  }
  for (const auto& [key, v] : s.map)
    if (std::holds_alternative<config::Resolve>(v.value))
      c.add(kTimetrackerRead, who + " resolves " + key + " (getRecordIdsByReferenceIds)");
}

}  // namespace

std::string_view people(std::string_view endpoint) {
  for (const auto& r : kPeople)
    if (r.endpoint == endpoint) return r.scope;
  return {};
}

std::string crm_module(std::string_view module, bool write) {
  std::string m = lower(module);
  if (std::find(kStandardModules.begin(), kStandardModules.end(), m) == kStandardModules.end()) m = "custom";
  return "ZohoCRM.modules." + m + (write ? ".UPDATE" : ".READ");
}

std::vector<Need> needed(const config::Config& cfg) {
  Collector c;
  for (const auto& s : cfg.streams) people_target(s, c);
  for (const auto& s : cfg.streams) {
    const std::string who = "stream " + s.name;
    if (const auto* crm = std::get_if<config::CrmSource>(&s.from)) {
      c.add(crm_module(crm->module, false), who + " reads " + crm->module + " (records, deleted records)");
      c.add(kCrmFields, who + " checks the fields of " + crm->module + " (settings/fields)");
      c.add(kCrmCoql, who + " walks a second crowded past the paging cap by id (COQL)");
    } else if (std::holds_alternative<config::PeopleSource>(s.from)) {
      c.add(kTimetrackerRead, who + " reads People jobs (getjobs)");
    }
    if (s.to == config::Target::crm_update && s.module) {
      c.add(crm_module(*s.module, true), who + " updates " + *s.module);
      c.add(kCrmFields, who + " learns the field types of " + *s.module + " (settings/fields)");
    }
  }
  return std::move(c).take();
}

std::string joined(const std::vector<Need>& needs) {
  std::string out;
  for (const auto& n : needs) out += (out.empty() ? "" : ",") + n.scope;
  return out;
}

}  // namespace peoplesync::connectors::scopes
