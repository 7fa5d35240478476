// Concurrency: writers on their own column families (transactions and batches) run alongside
// readers that take snapshots and iterate. Every writer keeps invariants that hold after each of
// its commits and never in between, so a reader that sees a torn commit or an inconsistent
// snapshot breaks them. No timing assertions: only the final contents and the invariants.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "manifold/db.h"
#include "manifold/env.h"
#include "manifold/options.h"
#include "manifold/status.h"
#include "manifold/write_batch.h"

namespace manifold {
namespace {

constexpr uint32_t kPageBytes = 1024;
constexpr int kCounters = 10;
constexpr int64_t kTotal = 1000;  // Sum of the counters of a column family, always.

using CfMap = std::map<std::string, std::string>;

std::string CounterKey(int i) { return "c" + std::to_string(i); }
std::string ItemKey(int i) {
  char buf[16];
  snprintf(buf, sizeof(buf), "item%05d", i);
  return buf;
}

// "<number>|<padding>": some values are long enough to go to overflow pages.
std::string Encode(int64_t n, size_t padding) {
  return std::to_string(n) + "|" + std::string(padding, static_cast<char>('a' + n % 26));
}
int64_t Decode(std::string_view v) {
  const size_t bar = v.find('|');
  return std::stoll(std::string(v.substr(0, bar)));
}

// Collects failures from any thread (gtest assertions are thread-safe, but a message with the
// thread's context is more useful).
class Failures {
 public:
  void Add(const std::string& what) {
    std::lock_guard<std::mutex> lock(mu_);
    if (messages_.size() < 20) messages_.push_back(what);
    ++count_;
  }
  void Check() {
    std::lock_guard<std::mutex> lock(mu_);
    for (const std::string& m : messages_) ADD_FAILURE() << m;
    EXPECT_EQ(count_, 0u);
  }

 private:
  std::mutex mu_;
  std::vector<std::string> messages_;
  size_t count_ = 0;
};

std::unique_ptr<DB> OpenDb(MemFileSystem* fs) {
  Options options;
  options.file_system = fs;
  options.page_bytes = kPageBytes;
  options.file_growth_bytes = 64 * kPageBytes;
  auto db = DB::Open(options, "/db");
  EXPECT_TRUE(db.ok()) << db.status().ToString();
  return db.ok() ? std::move(db).value() : nullptr;
}

CfMap ReadCf(DB* db, const std::string& cf, const Snapshot* snapshot) {
  CfMap data;
  ReadOptions read;
  read.snapshot = snapshot;
  auto it = db->NewIterator(read, cf);
  if (!it.ok()) return data;
  for ((*it)->SeekToFirst(); (*it)->Valid(); (*it)->Next()) {
    data.emplace(std::string((*it)->key()), std::string((*it)->value()));
  }
  return data;
}

// The invariants of a writer's column family: the counters sum to kTotal, and "n" equals the
// number of item keys. Returns an empty string when they hold.
std::string CheckInvariants(const CfMap& data) {
  int64_t sum = 0;
  int counters = 0;
  int items = 0;
  int64_t n = -1;
  for (const auto& [key, value] : data) {
    if (key.rfind("c", 0) == 0) {
      sum += Decode(value);
      ++counters;
    } else if (key.rfind("item", 0) == 0) {
      ++items;
    } else if (key == "n") {
      n = Decode(value);
    }
  }
  if (counters != kCounters) return "found " + std::to_string(counters) + " counters";
  if (sum != kTotal) return "counters sum to " + std::to_string(sum);
  if (n != items) return "n = " + std::to_string(n) + " but " + std::to_string(items) + " items";
  return "";
}

// One writer: owns column family `cf`; each commit keeps the invariants.
void Writer(DB* db, const std::string& cf, int commits, uint64_t seed, CfMap* model,
            Failures* failures) {
  std::mt19937_64 rng(seed);
  int next_item = 0;
  auto padding = [&] { return rng() % 8 == 0 ? 300 + rng() % 2000 : rng() % 20; };
  for (int c = 0; c < commits; ++c) {
    const int kind = static_cast<int>(rng() % 4);
    if (kind == 0) {
      // Transaction: move an amount between two counters, reading them inside the transaction.
      auto txn = db->BeginTransaction(cf);
      if (!txn.ok()) {
        failures->Add(cf + ": BeginTransaction: " + txn.status().ToString());
        return;
      }
      const int a = static_cast<int>(rng() % kCounters);
      const int b = static_cast<int>(rng() % kCounters);
      auto va = (*txn)->Get(CounterKey(a));
      auto vb = (*txn)->Get(CounterKey(b));
      if (!va.ok() || !vb.ok()) {
        failures->Add(cf + ": transaction Get of a counter failed");
        return;
      }
      const int64_t amount = static_cast<int64_t>(rng() % 50);
      const std::string new_a = Encode(Decode(*va) - amount, padding());
      const std::string new_b_base = a == b ? new_a : *vb;
      const std::string new_b = Encode(Decode(new_b_base) + amount, padding());
      if (!(*txn)->Put(CounterKey(a), new_a).ok() || !(*txn)->Put(CounterKey(b), new_b).ok()) {
        failures->Add(cf + ": transaction Put failed");
        return;
      }
      // Its own writes are visible to it.
      auto check = (*txn)->Get(CounterKey(b));
      if (!check.ok() || *check != new_b)
        failures->Add(cf + ": transaction does not see its write");
      if (rng() % 5 == 0) {
        (*txn)->Abort();  // Nothing changes.
        continue;
      }
      Status s = (*txn)->Commit({});
      if (!s.ok()) {
        failures->Add(cf + ": Commit: " + s.ToString());
        return;
      }
      (*model)[CounterKey(a)] = new_a;
      (*model)[CounterKey(b)] = new_b;
    } else if (kind == 1 || kind == 2) {
      // Batch: add an item and bump "n", plus a counter rotation (sum kept).
      WriteBatch batch;
      const std::string item = ItemKey(next_item++);
      const std::string item_value = Encode(c, padding());
      batch.Put(cf, item, item_value);
      const int64_t n = Decode(model->at("n")) + 1;
      const std::string n_value = Encode(n, padding());
      batch.Put(cf, "n", n_value);
      const int a = static_cast<int>(rng() % kCounters);
      const int b = (a + 1) % kCounters;
      const int64_t va = Decode(model->at(CounterKey(a)));
      const int64_t vb = Decode(model->at(CounterKey(b)));
      const std::string new_a = Encode(vb, padding());
      const std::string new_b = Encode(va, padding());
      batch.Put(cf, CounterKey(a), new_a);
      batch.Put(cf, CounterKey(b), new_b);
      Status s = db->Write({}, batch);
      if (!s.ok()) {
        failures->Add(cf + ": Write: " + s.ToString());
        return;
      }
      (*model)[item] = item_value;
      (*model)["n"] = n_value;
      (*model)[CounterKey(a)] = new_a;
      (*model)[CounterKey(b)] = new_b;
    } else {
      // Transaction: delete the oldest item (if any) and decrement "n".
      std::string victim;
      for (const auto& [key, value] : *model) {
        if (key.rfind("item", 0) == 0) {
          victim = key;
          break;
        }
      }
      if (victim.empty()) continue;
      auto txn = db->BeginTransaction(cf);
      if (!txn.ok()) {
        failures->Add(cf + ": BeginTransaction: " + txn.status().ToString());
        return;
      }
      auto n = (*txn)->Get("n");
      if (!n.ok()) {
        failures->Add(cf + ": Get n: " + n.status().ToString());
        return;
      }
      const std::string n_value = Encode(Decode(*n) - 1, padding());
      if (!(*txn)->Delete(victim).ok() || !(*txn)->Put("n", n_value).ok()) {
        failures->Add(cf + ": transaction write failed");
        return;
      }
      if (!(*txn)->Get(victim).status().IsNotFound()) {
        failures->Add(cf + ": transaction sees a key it deleted");
      }
      Status s = (*txn)->Commit({});
      if (!s.ok()) {
        failures->Add(cf + ": Commit: " + s.ToString());
        return;
      }
      model->erase(victim);
      (*model)["n"] = n_value;
    }
  }
}

// A reader: takes snapshots and checks every writer's invariants through them, with iterators
// (forward and backward) and Gets; plain iterators (an implicit snapshot) too.
void Reader(DB* db, const std::vector<std::string>& cfs, const std::atomic<bool>* stop,
            Failures* failures, std::atomic<uint64_t>* checks, std::atomic<uint64_t>* rounds) {
  uint64_t last_sequence = 0;
  std::mt19937_64 rng(std::hash<std::thread::id>()(std::this_thread::get_id()));
  while (!stop->load()) {
    auto snapshot = db->GetSnapshot();
    if (snapshot->sequence() < last_sequence) {
      failures->Add("snapshot sequence went backwards");
    }
    last_sequence = snapshot->sequence();
    for (const std::string& cf : cfs) {
      const CfMap data = ReadCf(db, cf, snapshot.get());
      const std::string broken = CheckInvariants(data);
      if (!broken.empty()) {
        failures->Add(cf + " at snapshot " + std::to_string(snapshot->sequence()) + ": " + broken);
        continue;
      }
      // Point reads at the same snapshot agree with the scan.
      ReadOptions read;
      read.snapshot = snapshot.get();
      for (int i = 0; i < 3; ++i) {
        const std::string key = CounterKey(static_cast<int>(rng() % kCounters));
        auto v = db->Get(read, cf, key);
        if (!v.ok() || *v != data.at(key)) failures->Add(cf + ": snapshot Get disagrees with scan");
      }
      // Backward scan of the same snapshot: same entries.
      auto it = db->NewIterator(read, cf);
      if (!it.ok()) {
        failures->Add(cf + ": NewIterator: " + it.status().ToString());
        continue;
      }
      size_t n = 0;
      auto expected = data.rbegin();
      for ((*it)->SeekToLast(); (*it)->Valid(); (*it)->Prev(), ++expected, ++n) {
        if (expected == data.rend() || (*it)->key() != expected->first ||
            (*it)->value() != expected->second) {
          failures->Add(cf + ": backward scan differs from forward scan");
          break;
        }
      }
      if (n != data.size()) failures->Add(cf + ": backward scan length differs");
      checks->fetch_add(1);
    }
    // No explicit snapshot: an iterator is its own consistent snapshot.
    const std::string& cf = cfs[rng() % cfs.size()];
    const std::string broken = CheckInvariants(ReadCf(db, cf, nullptr));
    if (!broken.empty()) failures->Add(cf + " (implicit snapshot): " + broken);
    // Maintenance calls racing the commits.
    if (rounds->fetch_add(1) % 16 == 0) {
      IntegrityReport report;
      Status verify = db->VerifyIntegrity(&report);
      if (!verify.ok()) failures->Add("VerifyIntegrity during writes: " + verify.ToString());
      const Stats stats = db->GetStats();
      if (stats.sequence < last_sequence) failures->Add("Stats.sequence went backwards");
      if (stats.pages_free > stats.pages_total) failures->Add("more free pages than pages");
      if (db->ListColumnFamilies().size() < cfs.size() + 1) {
        failures->Add("a writer column family vanished from the list");
      }
    }
  }
}

void InitWriterCf(DB* db, const std::string& cf, CfMap* model) {
  ASSERT_TRUE(db->CreateColumnFamily(cf).ok());
  WriteBatch batch;
  for (int i = 0; i < kCounters; ++i) {
    const std::string v = Encode(kTotal / kCounters, 0);
    batch.Put(cf, CounterKey(i), v);
    (*model)[CounterKey(i)] = v;
  }
  batch.Put(cf, "n", Encode(0, 0));
  (*model)["n"] = Encode(0, 0);
  ASSERT_TRUE(db->Write({}, batch).ok());
}

TEST(ConcurrencyTest, WritersOnOwnColumnFamiliesAndSnapshotReaders) {
  constexpr int kWriters = 4;
  constexpr int kReaders = 2;
  constexpr int kCommitsPerWriter = 500;
  auto fs = NewMemFileSystem();
  std::unique_ptr<DB> db = OpenDb(fs.get());
  ASSERT_NE(db, nullptr);
  std::vector<std::string> cfs;
  std::vector<CfMap> models(kWriters);
  for (int w = 0; w < kWriters; ++w) {
    cfs.push_back("writer" + std::to_string(w));
    InitWriterCf(db.get(), cfs.back(), &models[w]);
  }
  Failures failures;
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> checks{0};
  std::atomic<uint64_t> rounds{0};
  std::vector<std::thread> readers;
  for (int r = 0; r < kReaders; ++r) {
    readers.emplace_back(Reader, db.get(), cfs, &stop, &failures, &checks, &rounds);
  }
  // Meanwhile, column families come and go (catalog commits racing the writers' commits).
  std::thread catalog([&] {
    for (int i = 0; i < 40 && !stop.load(); ++i) {
      const std::string name = "scratch" + std::to_string(i % 3);
      Status s = db->CreateColumnFamily(name);
      if (!s.ok() && !s.IsAlreadyExists()) failures.Add("CreateColumnFamily: " + s.ToString());
      s = db->Put({}, name, "k", "v");
      if (!s.ok()) failures.Add("Put scratch: " + s.ToString());
      if (i % 2 == 0) {
        s = db->DropColumnFamily(name);
        if (!s.ok()) failures.Add("DropColumnFamily: " + s.ToString());
      }
    }
  });
  std::vector<std::thread> writers;
  for (int w = 0; w < kWriters; ++w) {
    writers.emplace_back(Writer, db.get(), cfs[w], kCommitsPerWriter, 1000 + w, &models[w],
                         &failures);
  }
  for (std::thread& t : writers) t.join();
  catalog.join();
  // Let the readers see the final state at least once more.
  const uint64_t rounds_at_end = rounds.load();
  while (rounds.load() < rounds_at_end + kReaders) std::this_thread::yield();
  stop.store(true);
  for (std::thread& t : readers) t.join();
  failures.Check();
  EXPECT_GT(checks.load(), 0u);

  // Final contents: exactly what each writer committed.
  for (int w = 0; w < kWriters; ++w) {
    EXPECT_TRUE(ReadCf(db.get(), cfs[w], nullptr) == models[w]) << cfs[w];
    EXPECT_EQ(CheckInvariants(models[w]), "");
  }
  IntegrityReport report;
  Status verify = db->VerifyIntegrity(&report);
  EXPECT_TRUE(verify.ok()) << verify.ToString();
  // And durable.
  db.reset();
  fs->DropUnsyncedData();
  db = OpenDb(fs.get());
  ASSERT_NE(db, nullptr);
  for (int w = 0; w < kWriters; ++w) {
    EXPECT_TRUE(ReadCf(db.get(), cfs[w], nullptr) == models[w]) << cfs[w];
  }
  EXPECT_TRUE(db->VerifyIntegrity(nullptr).ok());
}

// Several threads run read-modify-write transactions on ONE column family: a transaction holds
// the family's writer slot, so no increment is lost.
TEST(ConcurrencyTest, TransactionsOnOneColumnFamilyAreSerialized) {
  constexpr int kThreads = 4;
  constexpr int kIncrements = 150;
  auto fs = NewMemFileSystem();
  std::unique_ptr<DB> db = OpenDb(fs.get());
  ASSERT_NE(db, nullptr);
  ASSERT_TRUE(db->Put({}, "default", "counter", "0").ok());
  Failures failures;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kIncrements; ++i) {
        auto txn = db->BeginTransaction("default");
        if (!txn.ok()) {
          failures.Add("BeginTransaction: " + txn.status().ToString());
          return;
        }
        auto v = (*txn)->Get("counter");
        if (!v.ok()) {
          failures.Add("Get: " + v.status().ToString());
          return;
        }
        const int64_t next = std::stoll(*v) + 1;
        if (!(*txn)->Put("counter", std::to_string(next)).ok() ||
            !(*txn)->Put("t" + std::to_string(t) + "_" + std::to_string(i), "x").ok()) {
          failures.Add("Put failed");
          return;
        }
        Status s = (*txn)->Commit({});
        if (!s.ok()) failures.Add("Commit: " + s.ToString());
      }
    });
  }
  // Plain writes to the same family interleave with the transactions (they wait their turn).
  threads.emplace_back([&] {
    for (int i = 0; i < 30; ++i) {
      Status s = db->Put({}, "default", "plain" + std::to_string(i), "p");
      if (!s.ok()) failures.Add("Put: " + s.ToString());
    }
  });
  for (std::thread& t : threads) t.join();
  failures.Check();
  auto v = db->Get({}, "default", "counter");
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(*v, std::to_string(kThreads * kIncrements));
  EXPECT_EQ(ReadCf(db.get(), "default", nullptr).size(),
            static_cast<size_t>(1 + kThreads * kIncrements + 30));
  EXPECT_TRUE(db->VerifyIntegrity(nullptr).ok());
}

// Batches spanning two column families each, on overlapping pairs, move amounts between
// families: the sum over all families is constant at every snapshot (cross-family atomicity),
// and overlapping batches do not deadlock.
TEST(ConcurrencyTest, CrossColumnFamilyBatchesAreAtomic) {
  constexpr int kFamilies = 4;
  constexpr int kThreads = 4;
  constexpr int kBatches = 300;
  constexpr int64_t kPerFamily = 500;
  auto fs = NewMemFileSystem();
  std::unique_ptr<DB> db = OpenDb(fs.get());
  ASSERT_NE(db, nullptr);
  std::vector<std::string> cfs;
  for (int f = 0; f < kFamilies; ++f) {
    cfs.push_back("f" + std::to_string(f));
    ASSERT_TRUE(db->CreateColumnFamily(cfs.back()).ok());
    ASSERT_TRUE(db->Put({}, cfs.back(), "balance", std::to_string(kPerFamily)).ok());
  }
  Failures failures;
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> snapshots_checked{0};
  auto total_at = [&](const Snapshot* snapshot, std::string* error) {
    int64_t total = 0;
    ReadOptions read;
    read.snapshot = snapshot;
    for (const std::string& cf : cfs) {
      auto v = db->Get(read, cf, "balance");
      if (!v.ok()) {
        *error = cf + ": " + v.status().ToString();
        return int64_t{-1};
      }
      total += std::stoll(*v);
    }
    return total;
  };
  std::thread reader([&] {
    while (!stop.load()) {
      auto snapshot = db->GetSnapshot();
      std::string error;
      const int64_t total = total_at(snapshot.get(), &error);
      if (total != kFamilies * kPerFamily) {
        failures.Add("total " + std::to_string(total) + " at snapshot " +
                     std::to_string(snapshot->sequence()) + " " + error);
      }
      snapshots_checked.fetch_add(1);
    }
  });
  // Thread t moves amounts between families t and t+1 (pairs overlap). The read-modify-write of
  // the two balances is made exact by application-level locks; what is tested is that the
  // engine applies each two-family batch atomically for readers, and that batches with
  // overlapping families do not deadlock.
  std::vector<std::mutex> family_locks(kFamilies);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937_64 rng(77 + t);
      const int a = t % kFamilies;
      const int b = (t + 1) % kFamilies;
      for (int i = 0; i < kBatches; ++i) {
        std::unique_lock<std::mutex> la(family_locks[std::min(a, b)]);
        std::unique_lock<std::mutex> lb(family_locks[std::max(a, b)]);
        auto va = db->Get({}, cfs[a], "balance");
        auto vb = db->Get({}, cfs[b], "balance");
        if (!va.ok() || !vb.ok()) {
          failures.Add("Get balance failed");
          return;
        }
        const int64_t amount = static_cast<int64_t>(rng() % 20) - 10;
        WriteBatch batch;
        batch.Put(cfs[a], "balance", std::to_string(std::stoll(*va) - amount));
        batch.Put(cfs[b], "balance", std::to_string(std::stoll(*vb) + amount));
        batch.Put(cfs[a], "log" + std::to_string(t) + "_" + std::to_string(i), "x");
        Status s = db->Write({}, batch);
        if (!s.ok()) failures.Add("Write: " + s.ToString());
      }
    });
  }
  for (std::thread& t : threads) t.join();
  stop.store(true);
  reader.join();
  failures.Check();
  EXPECT_GT(snapshots_checked.load(), 0u);
  std::string error;
  EXPECT_EQ(total_at(nullptr, &error), kFamilies * kPerFamily) << error;
  EXPECT_TRUE(db->VerifyIntegrity(nullptr).ok());
  db.reset();
  fs->DropUnsyncedData();
  db = OpenDb(fs.get());
  ASSERT_NE(db, nullptr);
  EXPECT_EQ(total_at(nullptr, &error), kFamilies * kPerFamily) << error;
}

// DropColumnFamily waits for the family's open transaction; the transaction's commit succeeds and
// then the drop removes everything, the committed data included.
TEST(ConcurrencyTest, DropWaitsForOpenTransaction) {
  auto fs = NewMemFileSystem();
  std::unique_ptr<DB> db = OpenDb(fs.get());
  ASSERT_NE(db, nullptr);
  ASSERT_TRUE(db->CreateColumnFamily("victim").ok());
  auto txn = db->BeginTransaction("victim");
  ASSERT_TRUE(txn.ok());
  ASSERT_TRUE((*txn)->Put("k", "v").ok());
  std::atomic<bool> dropped{false};
  Status drop_status;
  std::thread dropper([&] {
    drop_status = db->DropColumnFamily("victim");
    dropped.store(true);
  });
  // Whatever the dropper is doing, the transaction can still commit (it holds the family).
  for (int i = 0; i < 100 && !dropped.load(); ++i) std::this_thread::yield();
  EXPECT_FALSE(dropped.load()) << "DropColumnFamily did not wait for the open transaction";
  Status commit = (*txn)->Commit({});
  EXPECT_TRUE(commit.ok()) << commit.ToString();
  txn = Status::Aborted("released");
  dropper.join();
  EXPECT_TRUE(drop_status.ok()) << drop_status.ToString();
  EXPECT_EQ(db->ListColumnFamilies(), std::vector<std::string>{"default"});
  EXPECT_TRUE(db->Get({}, "victim", "k").status().IsNotFound());
  EXPECT_TRUE(db->VerifyIntegrity(nullptr).ok());
}

}  // namespace
}  // namespace manifold
