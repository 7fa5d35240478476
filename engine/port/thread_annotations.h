// Clang thread-safety analysis attributes (https://clang.llvm.org/docs/ThreadSafetyAnalysis.html).
// They let clang's -Wthread-safety prove at compile time that guarded fields are only touched with
// their mutex held. Other compilers ignore them.
#ifndef MANIFOLD_PORT_THREAD_ANNOTATIONS_H_
#define MANIFOLD_PORT_THREAD_ANNOTATIONS_H_

#if defined(__clang__)
#define MANIFOLD_THREAD_ANNOTATION_(x) __attribute__((x))
#else
#define MANIFOLD_THREAD_ANNOTATION_(x)  // No-op.
#endif

// On a class: instances are capabilities (locks) named `x` in diagnostics.
#define MANIFOLD_CAPABILITY(x) MANIFOLD_THREAD_ANNOTATION_(capability(x))

// On an RAII class that acquires a capability in its constructor and releases it in its destructor.
#define MANIFOLD_SCOPED_CAPABILITY MANIFOLD_THREAD_ANNOTATION_(scoped_lockable)

// On a field: reading or writing it requires holding `x`.
#define MANIFOLD_GUARDED_BY(x) MANIFOLD_THREAD_ANNOTATION_(guarded_by(x))

// On a pointer field: dereferencing it requires holding `x`.
#define MANIFOLD_PT_GUARDED_BY(x) MANIFOLD_THREAD_ANNOTATION_(pt_guarded_by(x))

// On a mutex field: must be acquired before / after the listed mutexes (lock ordering).
#define MANIFOLD_ACQUIRED_BEFORE(...) MANIFOLD_THREAD_ANNOTATION_(acquired_before(__VA_ARGS__))
#define MANIFOLD_ACQUIRED_AFTER(...) MANIFOLD_THREAD_ANNOTATION_(acquired_after(__VA_ARGS__))

// On a function: the caller must hold the capabilities exclusively / shared.
#define MANIFOLD_REQUIRES(...) MANIFOLD_THREAD_ANNOTATION_(requires_capability(__VA_ARGS__))
#define MANIFOLD_REQUIRES_SHARED(...) \
  MANIFOLD_THREAD_ANNOTATION_(requires_shared_capability(__VA_ARGS__))

// On a function: the function acquires / releases the capabilities.
#define MANIFOLD_ACQUIRE(...) MANIFOLD_THREAD_ANNOTATION_(acquire_capability(__VA_ARGS__))
#define MANIFOLD_ACQUIRE_SHARED(...) \
  MANIFOLD_THREAD_ANNOTATION_(acquire_shared_capability(__VA_ARGS__))
#define MANIFOLD_RELEASE(...) MANIFOLD_THREAD_ANNOTATION_(release_capability(__VA_ARGS__))
#define MANIFOLD_RELEASE_SHARED(...) \
  MANIFOLD_THREAD_ANNOTATION_(release_shared_capability(__VA_ARGS__))

// On a function returning bool: acquires the capabilities when it returns `succeeded`.
#define MANIFOLD_TRY_ACQUIRE(...) MANIFOLD_THREAD_ANNOTATION_(try_acquire_capability(__VA_ARGS__))

// On a function: the caller must NOT hold the capabilities (the function takes them itself).
#define MANIFOLD_EXCLUDES(...) MANIFOLD_THREAD_ANNOTATION_(locks_excluded(__VA_ARGS__))

// On a function: checks at run time (or asserts) that the capability is held; the analysis then
// assumes it is.
#define MANIFOLD_ASSERT_CAPABILITY(x) MANIFOLD_THREAD_ANNOTATION_(assert_capability(x))

// On a function: returns a reference to the given capability.
#define MANIFOLD_RETURN_CAPABILITY(x) MANIFOLD_THREAD_ANNOTATION_(lock_returned(x))

// On a function: turns the analysis off inside it, for locking patterns it cannot follow.
#define MANIFOLD_NO_THREAD_SAFETY_ANALYSIS MANIFOLD_THREAD_ANNOTATION_(no_thread_safety_analysis)

#endif  // MANIFOLD_PORT_THREAD_ANNOTATIONS_H_
