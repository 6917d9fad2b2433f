#pragma once
// People's jobs as a full-list source (the write-back reads every job for
// its logged hours and status): getjobs page by page, each job as the record
// a write-back template reads ({totalhours}, {jobStatus}, ...).
#include "sync/source.hpp"

namespace peoplesync::connectors {
class PeopleClient;
struct PeopleJob;
}  // namespace peoplesync::connectors

namespace peoplesync::sync {

// A People job as the record a write-back template reads ({totalhours},
// {jobStatus}, ...); the preflight tries a write-back mapping on one.
Value job_record(const connectors::PeopleJob& j);

class PeopleJobsSource final : public ListSource {
 public:
  explicit PeopleJobsSource(connectors::PeopleClient& people) : people_(people) {}
  boost::asio::awaitable<connectors::Expected<connectors::Page<SourceRecord>>> page(int index) override;

 private:
  connectors::PeopleClient& people_;
};

}  // namespace peoplesync::sync
