// A commit of the reference model (model/model.h): a batch of puts and deletes, or a column family
// create or drop, and how it ended.
#ifndef MANIFOLD_MODEL_COMMIT_H_
#define MANIFOLD_MODEL_COMMIT_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "manifold/write_batch.h"

namespace manifold::model {

struct Op {
  enum Kind : uint8_t { kPut, kDelete };
  Kind kind = kPut;
  std::string cf;
  std::string key;
  std::string value;  // Empty for deletes.

  static Op Put(std::string_view cf, std::string_view key, std::string_view value);
  static Op Delete(std::string_view cf, std::string_view key);
};

struct Commit {
  enum Kind : uint8_t { kBatch, kCreateCf, kDropCf };
  Kind kind = kBatch;
  std::vector<Op> ops;  // kBatch: applied in order, later ones win on the same key.
  std::string cf;       // kCreateCf / kDropCf: the column family.
  // How explanations name it, e.g. "op #12" (the simulator names a commit by the operation that
  // made it, so its report and trace use one numbering). Empty: "#<id>", its number in attempt
  // order.
  std::string name;

  static Commit Batch(std::vector<Op> ops);
  // A WriteBatch, or a transaction's writes (all on one column family), in order.
  static Commit FromWriteBatch(const WriteBatch& batch);
  static Commit CreateCf(std::string_view name);
  static Commit DropCf(std::string_view name);

  // E.g. `batch of 4 ops on 'a','default'`, `create cf 'x'`, `drop cf 'x'`.
  std::string Describe() const;
};

enum class Outcome : uint8_t {
  kAcknowledgedDurable,
  kAcknowledgedNonDurable,
  kFailedClean,
  kUncertain,
};
// "acknowledged durable", "acknowledged non-durable", "failed clean", "uncertain".
const char* OutcomeName(Outcome outcome);

}  // namespace manifold::model

#endif  // MANIFOLD_MODEL_COMMIT_H_
