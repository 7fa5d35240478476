// Named fault points (FoundationDB's BUGGIFY idea, through libfiu). In simulator and test builds
// (Bazel --define=manifold_fault_points=1, the project's default outside --config=opt) each
// MANIFOLD_FAULT("name") asks libfiu whether to fail here; the simulator decides from its seed
// (libfiu's external-callback mode). In other builds it is the constant false and costs nothing.
//
// Every point is listed in kFaultPoints so the simulator can enable them all.
#ifndef MANIFOLD_UTIL_FAULT_POINT_H_
#define MANIFOLD_UTIL_FAULT_POINT_H_

#include <array>
#include <string_view>

#if defined(MANIFOLD_FAULT_POINTS)
#ifndef FIU_ENABLE
#define FIU_ENABLE 1
#endif
#include <fiu.h>
#define MANIFOLD_FAULT(name) (fiu_fail(name) != 0)
#else
#define MANIFOLD_FAULT(name) false
#endif

namespace manifold {

// True when this build evaluates fault points.
inline constexpr bool kFaultPointsCompiledIn =
#if defined(MANIFOLD_FAULT_POINTS)
    true;
#else
    false;
#endif

namespace fault_point {
// A read of data-file pages returns fewer bytes than asked (as if the file were truncated).
inline constexpr char kPagerShortRead[] = "manifold/pager/short_read";
// Page allocation fails (as if the file could not grow): the commit fails before writing.
inline constexpr char kAllocatorNoSpace[] = "manifold/allocator/no_space";
// Growing the data file (preallocation) fails.
inline constexpr char kPagerReserveFail[] = "manifold/pager/reserve_fail";
// Creating a database: the rename of the temporary data file fails.
inline constexpr char kCreateRenameFail[] = "manifold/create/rename_fail";
// A commit fails between syncing its pages and writing its header slot.
inline constexpr char kCommitBeforeHeader[] = "manifold/commit/before_header";
// Reading a header slot at open fails as an I/O error.
inline constexpr char kOpenHeaderReadFail[] = "manifold/open/header_read_fail";
}  // namespace fault_point

inline constexpr std::array<std::string_view, 6> kFaultPoints = {
    fault_point::kPagerShortRead,     fault_point::kAllocatorNoSpace,
    fault_point::kPagerReserveFail,   fault_point::kCreateRenameFail,
    fault_point::kCommitBeforeHeader, fault_point::kOpenHeaderReadFail,
};

}  // namespace manifold

#endif  // MANIFOLD_UTIL_FAULT_POINT_H_
