// Faults, TLS failures and OAuth against the sandbox over TLS: a write whose
// connection dies after the commit is in doubt and not re-sent; 5xx storms
// are retried (in simulated time) and end in an error naming the endpoint;
// non-JSON and truncated bodies are errors, not crashes; bad certificates are
// refused before anything reaches the server; an access token that expires
// mid-run costs one refresh and no failed call.
#include "tests/integration/fixture.hpp"

namespace peoplesync::integration {
namespace {

constexpr const char* kAnn = "ann.lee@example.com";

class Faults : public SandboxFixture {
 protected:
  void start_org(SandboxOptions o = {}, BackoffPolicy backoff = BackoffPolicy{Millis{100}, Millis{1000}, 4}) {
    o.seed_json = R"({"users":["ann.lee@example.com"],
      "projects":[{"id":"P1","name":"Alpha"}],
      "jobs":[{"id":"J1","name":"Build","project_id":"P1","assignees":["ann.lee@example.com"]}],
      "crm":{"Deals":[{"id":"D1","Deal_Name":"One","Modified_Time":"2024-01-01T00:00:00+00:00"},
                      {"id":"D2","Deal_Name":"Two","Modified_Time":"2024-01-02T00:00:00+00:00"}]}})";
    start(o, backoff);
  }
  TimelogInput log_item() { return {kAnn, "J1", "", day(*sandbox_clock_, -1), "", "01:00", "", "", "", ""}; }
  // The time logs the sandbox holds (one admin list, as JSON text).
  int timelogs_held() {
    const std::string all = people_admin("timelogs");
    int n = 0;
    for (std::size_t pos = 0; (pos = all.find("\"id\":", pos)) != std::string::npos; ++pos) ++n;
    return n;
  }
  Expected<CrmPage> deals() { return run(crm().get_page(CrmQuery{"Deals", {"Deal_Name"}, std::nullopt, 1, 200, ""})); }
};

// Issue 4: a connection killed after a bulk write was committed is reported
// in doubt and never re-sent blind.
TEST_F(Faults, ConnectionKilledAfterABulkWriteIsInDoubtAndNotResent) {
  start_org();
  set_faults("drop_after=1,only=addupdatetimelogs");
  const CallError e = error_of(run(people().add_update_timelogs({log_item(), log_item()})));
  EXPECT_EQ(e.outcome, Outcome::in_doubt);
  EXPECT_NE(e.message.find("people/addupdatetimelogs"), std::string::npos) << e.message;
  EXPECT_EQ(transport_->count("people/addupdatetimelogs"), 1) << "re-sent";
  EXPECT_EQ(calls("people/addupdatetimelogs"), 1);
  EXPECT_EQ(stats()["people/addupdatetimelogs"].errors.size(), 0u);
  EXPECT_EQ(timelogs_held(), 2) << "the sandbox committed the write";
  EXPECT_TRUE(sleeper_.waits().empty());

  // Reads on the same endpoint family are not affected, and the next write
  // goes through once the fault is cleared.
  set_faults("");
  auto ok = run(people().add_update_timelogs({log_item()}));
  ASSERT_OK(ok);
  EXPECT_EQ(timelogs_held(), 3);
}

// The same for the other writes: a job add, a CRM update.
TEST_F(Faults, EveryWriteKilledAfterCommitIsInDoubt) {
  start_org();
  set_faults("drop_after=1,only=/addjob");
  JobInput job;
  job.name = "J";
  job.assignees = {{kAnn, "01:00", ""}};
  EXPECT_EQ(error_of(run(people().add_job(job))).outcome, Outcome::in_doubt);
  EXPECT_EQ(calls("people/addjob"), 1);
  // A CRM update sets fields to values: sent again it changes nothing more,
  // so it is resent like a read, and only a read failure remains.
  set_faults("drop_after=1,only=/crm/");
  const std::vector<CrmUpdate> won{{"D1", {{"Stage", Value::string("Won")}}}};
  EXPECT_EQ(error_of(run(crm().update("Deals", won))).outcome, Outcome::retry);
  EXPECT_GE(calls("crm/Deals/update"), 2);
  EXPECT_EQ(transport_->count("crm"), calls("crm/Deals/update"));
}

// A 5xx storm on a read: retried with backoff (simulated time: the sleeper
// records the waits), then a clear error naming the endpoint. Every attempt
// reached the server exactly once.
TEST_F(Faults, ServerErrorStormOnAReadIsRetriedThenNamed) {
  start_org();
  set_faults("error_rate=1,only=getjobs");
  const CallError e = error_of(run(people().get_jobs(JobQuery{})));
  EXPECT_EQ(e.outcome, Outcome::retry);
  EXPECT_NE(e.message.find("people/getjobs"), std::string::npos) << e.message;
  EXPECT_NE(e.message.find("HTTP 50"), std::string::npos) << e.message;
  EXPECT_EQ(transport_->count("people/getjobs"), 4);
  EXPECT_EQ(calls("people/getjobs"), 4);
  // Full jitter (random 0.5): 50, 100, 200 ms of simulated time.
  EXPECT_EQ(sleeper_.waits(), (std::vector<Millis>{Millis{50}, Millis{100}, Millis{200}}));

  set_faults("");
  ASSERT_OK(run(people().get_jobs(JobQuery{})));

  // The same on CRM: the error names the module.
  set_faults("error_rate=1,only=/crm/");
  const CallError c = error_of(deals());
  EXPECT_EQ(c.outcome, Outcome::retry);
  EXPECT_NE(c.message.find("crm Deals"), std::string::npos) << c.message;
  EXPECT_EQ(calls("crm/Deals"), 4);
}

// CRM's daily credits run out: HTTP 429 TOO_MANY_REQUESTS is a rate-limit
// outcome (not retried here: the scheduler is told and makes the wait).
TEST_F(Faults, CrmCreditsExhaustedIsRateLimitedAndTheGateIsTold) {
  SandboxOptions o;
  o.behaviour.crm_daily_credits = 2;
  start_org(o);
  ASSERT_OK(deals());
  ASSERT_OK(deals());
  const CallError e = error_of(deals());
  EXPECT_EQ(e.outcome, Outcome::rate_limited);
  EXPECT_EQ(e.vendor_code, "TOO_MANY_REQUESTS");
  EXPECT_NE(e.message.find("crm Deals"), std::string::npos) << e.message;
  ASSERT_EQ(gate_.signals.size(), 1u);
  EXPECT_EQ(gate_.signals[0].first, "crm");
  EXPECT_EQ(gate_.signals[0].second, LimitSignal::rate_limited);
  EXPECT_EQ(calls("crm/Deals"), 3);
  EXPECT_TRUE(sleeper_.waits().empty());
}

// A 5xx on a write is not retried: the server may have acted.
TEST_F(Faults, ServerErrorOnAWriteIsInDoubtAndNotRetried) {
  start_org();
  set_faults("error_rate=1,only=addupdatetimelogs");
  const CallError e = error_of(run(people().add_update_timelogs({log_item()})));
  EXPECT_EQ(e.outcome, Outcome::in_doubt);
  EXPECT_EQ(transport_->count("people/addupdatetimelogs"), 1);
  EXPECT_EQ(calls("people/addupdatetimelogs"), 1);
}

// A body that is not JSON: an error naming the endpoint, never a crash; on a
// write it is in doubt (the sandbox committed before answering garbage).
TEST_F(Faults, NonJsonBodyIsAnErrorNamingTheEndpoint) {
  start_org();
  set_faults("garbage=1,only=getjobs");
  const CallError e = error_of(run(people().get_jobs(JobQuery{})));
  EXPECT_EQ(e.outcome, Outcome::retry);
  EXPECT_NE(e.message.find("people/getjobs"), std::string::npos) << e.message;
  EXPECT_NE(e.message.find("not JSON"), std::string::npos) << e.message;

  set_faults("garbage=1,only=/crm/");
  const CallError c = error_of(deals());
  EXPECT_NE(c.message.find("crm Deals"), std::string::npos) << c.message;
  const std::vector<CrmUpdate> won{{"D1", {{"Stage", Value::string("Won")}}}};
  EXPECT_EQ(error_of(run(crm().update("Deals", won))).outcome, Outcome::in_doubt);

  set_faults("garbage=1,only=addupdatetimelogs");
  const CallError w = error_of(run(people().add_update_timelogs({log_item()})));
  EXPECT_EQ(w.outcome, Outcome::in_doubt);
  EXPECT_NE(w.message.find("people/addupdatetimelogs"), std::string::npos) << w.message;
  EXPECT_EQ(timelogs_held(), 1);

  // Every other endpoint survives garbage too.
  set_faults("garbage=1,only=/people/");
  EXPECT_EQ(error_of(run(people().get_projects(0))).outcome, Outcome::retry);
  EXPECT_EQ(error_of(run(people().get_job_details("J1"))).outcome, Outcome::retry);
  EXPECT_EQ(error_of(run(people().get_timelogs(TimelogQuery{}))).outcome, Outcome::retry);
  EXPECT_EQ(error_of(run(people().record_ids_by_reference("Zoho Projects", "project", {"x"}))).outcome,
            Outcome::retry);
  EXPECT_EQ(error_of(run(people().modify_job_status("J1", "Completed"))).outcome, Outcome::in_doubt);
  EXPECT_EQ(error_of(run(people().delete_timelogs({"T1"}))).outcome, Outcome::in_doubt);
}

// A reply cut short: the read is retried (each attempt reaches the server
// once: the transport does not silently send it again) and ends in an error
// naming the endpoint; a cut write is in doubt.
TEST_F(Faults, TruncatedBodyIsRetriedOnReadsAndInDoubtOnWrites) {
  start_org();
  set_faults("truncate=1,only=getprojects");
  const CallError e = error_of(run(people().get_projects(0)));
  EXPECT_EQ(e.outcome, Outcome::retry);
  EXPECT_NE(e.message.find("people/getprojects"), std::string::npos) << e.message;
  EXPECT_EQ(transport_->count("people/getprojects"), 4);
  EXPECT_EQ(calls("people/getprojects"), 4) << "a read was sent more often than the client's attempts";

  set_faults("truncate=1,only=addupdatetimelogs");
  const CallError w = error_of(run(people().add_update_timelogs({log_item()})));
  EXPECT_EQ(w.outcome, Outcome::in_doubt);
  EXPECT_EQ(calls("people/addupdatetimelogs"), 1);
  EXPECT_EQ(timelogs_held(), 1);

  set_faults("");
  auto ok = run(people().get_projects(0));
  ASSERT_OK(ok);
  EXPECT_EQ(std::get<Page<PeopleProject>>(ok).items.size(), 1u);
}

// Added latency (within the deadlines) is waited out, not mistaken for a failure.
TEST_F(Faults, LatencyIsWaitedOut) {
  start_org();
  set_faults("latency_ms=30,only=getprojects");
  auto ok = run(people().get_projects(0));
  ASSERT_OK(ok);
  EXPECT_EQ(std::get<Page<PeopleProject>>(ok).items.size(), 1u);
}

// ------------------------------------------------------------------ TLS

// Issue 4: a bad certificate is refused, and nothing reaches the server.
struct BadCert {
  const char* name;
  std::string host;
  int days;
  bool self_signed;
  const char* why;  // in the message
  friend void PrintTo(const BadCert& b, std::ostream* os) { *os << b.name; }
};

class BadCertificate : public SandboxFixture, public ::testing::WithParamInterface<BadCert> {};

TEST_P(BadCertificate, IsRefusedBeforeAnythingIsSent) {
  SandboxOptions o;
  o.host = GetParam().host;
  o.cert_days = GetParam().days;
  o.self_signed = GetParam().self_signed;
  start(o);
  const CallError e = error_of(run(people().get_projects(0)));
  EXPECT_EQ(e.outcome, Outcome::retry);
  EXPECT_NE(e.message.find("TLS"), std::string::npos) << e.message;
  EXPECT_NE(e.message.find(GetParam().why), std::string::npos) << e.message;
  EXPECT_NE(e.message.find(o.host), std::string::npos) << e.message;
  EXPECT_EQ(tokens_->refreshes(), 0);
  EXPECT_EQ(transport_->count("people/getprojects"), 0);
  for (const auto& s : transport_->sent()) {
    ASSERT_TRUE(std::holds_alternative<Failure>(s.result));
    EXPECT_EQ(std::get<Failure>(s.result).kind, TransportFailure::tls);
  }
  EXPECT_EQ(all_calls(), 0) << "a request reached the sandbox over an unverified connection";
}

INSTANTIATE_TEST_SUITE_P(
    Certificates, BadCertificate,
    ::testing::Values(BadCert{"WrongHost", "127.0.0.2", 825, false, "certificate verify failed"},
                      BadCert{"SelfSigned", "127.0.0.1", 825, true, "certificate"},
                      BadCert{"Expired", "127.0.0.1", -1, false, "expired"}),
    [](const auto& p) { return std::string(p.param.name); });

// ------------------------------------------------------------------ OAuth

// Issue 4: the access token expires mid-run (the sandbox clock passes its
// short lifetime between two pages): one 401, one refresh, the call repeated,
// no failed call and every record read once.
TEST_F(Faults, TokenExpiryMidRunCostsOneRefreshAndNoFailedCall) {
  SandboxOptions o;
  o.behaviour.token_lifetime = Millis{120'000};
  std::string seed = R"({"crm":{"Calls":[)";
  for (int i = 0; i < 1000; ++i)
    seed += std::string(i ? "," : "") + R"({"id":"C)" + std::to_string(1000 + i) + R"(","Modified_Time":")" +
            crm_time(std::chrono::system_clock::now() - std::chrono::hours(2) + std::chrono::seconds(i)) + "\"}";
  o.seed_json = seed + "]}}";
  start(o);
  int batches = 0, records = 0;
  auto sink = [&](const std::vector<CrmRecord>& batch, const CrmWatermark&) -> boost::asio::awaitable<bool> {
    records += static_cast<int>(batch.size());
    if (++batches == 2) sandbox_clock_->jump(Millis{121'000});  // the token is now expired
    co_return true;
  };
  auto walked = run(crm().read_modified("Calls", {}, CrmWatermark{}, sink));
  ASSERT_OK(walked);
  EXPECT_EQ(records, 1000);
  // 6 pages: 200 records, then 199 new a page (each page after the first
  // asks from the watermark's second again, see CrmClient::read_modified).
  EXPECT_EQ(std::get<CrmWalkStats>(walked).calls, 6);
  EXPECT_EQ(tokens_->refreshes(), 2);  // the first token and one refresh
  EXPECT_EQ(calls("accounts/token"), 2);
  EXPECT_EQ(transport_->count("accounts/token"), 2);
  // The one rejected call was repeated: 6 pages, 7 CRM calls on the wire.
  EXPECT_EQ(transport_->count("crm"), 7);
  int rejected = 0;
  for (const auto& s : transport_->sent())
    if (auto* r = std::get_if<Response>(&s.result); r && r->status == 401) ++rejected;
  EXPECT_EQ(rejected, 1);
}

// Several calls in flight when the token expires share one refresh.
TEST_F(Faults, ConcurrentCallsAtExpiryShareOneRefresh) {
  SandboxOptions o;
  o.behaviour.token_lifetime = Millis{120'000};
  start_org(o);
  ASSERT_OK(run(people().get_projects(0)));
  sandbox_clock_->jump(Millis{121'000});
  int ok = 0;
  auto one = [&]() -> boost::asio::awaitable<void> {
    // A named query: g++ 12 destroys a temporary aggregate argument of a
    // co_awaited call twice.
    const JobQuery q;
    auto r = co_await people().get_jobs(q);
    if (std::holds_alternative<Page<PeopleJob>>(r)) ++ok;
  };
  for (int i = 0; i < 5; ++i) boost::asio::co_spawn(io_, one(), boost::asio::detached);
  io_.run();
  io_.restart();
  EXPECT_EQ(ok, 5);
  EXPECT_EQ(tokens_->refreshes(), 2);
  EXPECT_EQ(calls("accounts/token"), 2);
}

// The token is refreshed before it expires when the client's clock says so
// (both expires_in forms): no call is rejected.
class ProactiveRefresh : public SandboxFixture, public ::testing::WithParamInterface<bool> {};

TEST_P(ProactiveRefresh, BeforeExpiryInBothExpiresInForms) {
  SandboxOptions o;
  o.behaviour.millisecond_expires_in = GetParam();
  start(o);
  ASSERT_OK(run(people().get_projects(0)));
  client_clock_.advance(std::chrono::minutes(50));  // well inside the hour: no refresh
  ASSERT_OK(run(people().get_projects(0)));
  EXPECT_EQ(calls("accounts/token"), 1);
  client_clock_.advance(std::chrono::minutes(6));  // within five minutes of expiry
  sandbox_clock_->jump(std::chrono::minutes(56));
  ASSERT_OK(run(people().get_projects(0)));
  EXPECT_EQ(calls("accounts/token"), 2);
  for (const auto& s : transport_->sent())
    if (auto* r = std::get_if<Response>(&s.result)) {
      EXPECT_NE(r->status, 401);
    }
}

INSTANTIATE_TEST_SUITE_P(Forms, ProactiveRefresh, ::testing::Values(false, true),
                         [](const auto& p) { return p.param ? "Milliseconds" : "Seconds"; });

// A revoked refresh token: an authorisation error telling the operator what
// to do, after one token request (no retry loop), and no API call.
TEST_F(Faults, RevokedRefreshTokenIsAnAuthErrorWithInstructions) {
  start_org();
  ASSERT_EQ(admin("POST", "/_admin/revoke?refresh_token=sandbox-refresh-token").status, 200);
  const CallError e = error_of(run(people().get_projects(0)));
  EXPECT_EQ(e.outcome, Outcome::auth);
  EXPECT_EQ(e.vendor_code, "invalid_code");
  EXPECT_NE(e.message.find("refresh token"), std::string::npos) << e.message;
  EXPECT_EQ(e.message.find("sandbox-refresh-token"), std::string::npos) << "the secret is in the message";
  EXPECT_EQ(calls("accounts/token"), 1);
  EXPECT_EQ(transport_->total(), 1);
}

// The accounts server's throttle (10 tokens per 10 minutes; 1 here): the
// provider waits (simulated time, which the sandbox's clock follows) and tries
// again until the window has passed, instead of failing the call.
TEST_F(Faults, TokenThrottleIsWaitedOut) {
  SandboxOptions o;
  o.behaviour.tokens_per_window = 1;
  o.behaviour.token_lifetime = Millis{120'000};
  start_org(o);
  ASSERT_OK(run(people().get_projects(0)));
  sandbox_clock_->jump(Millis{121'000});  // the token expires; the next grant is throttled
  ASSERT_OK(run(people().get_projects(0)));
  const auto& waits = sleeper_.waits();
  ASSERT_FALSE(waits.empty());
  Millis waited{0};
  for (Millis w : waits) {
    EXPECT_GE(w, Millis{30'000});
    waited += w;
  }
  EXPECT_GE(waited, Millis{600'000 - 121'000});
  EXPECT_EQ(stats()["accounts/token"].errors["throttled"], static_cast<std::int64_t>(waits.size()));
  EXPECT_EQ(calls("accounts/token"), 2 + static_cast<std::int64_t>(waits.size()));
  EXPECT_EQ(tokens_->refreshes(), 2);
}

}  // namespace
}  // namespace peoplesync::integration
