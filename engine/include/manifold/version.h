// The library's version. Semantic versioning; before 1.0 a minor release may change the API or
// the on-disk format. The on-disk format has its own number (docs/design.md, "Header slots",
// offset 32): a release that changes it says so in its notes, and opening a file of another
// format version fails with NotSupported naming both versions; nothing is converted silently.
#ifndef MANIFOLD_VERSION_H_
#define MANIFOLD_VERSION_H_

#define MANIFOLD_VERSION_MAJOR 0
#define MANIFOLD_VERSION_MINOR 1
#define MANIFOLD_VERSION_PATCH 0
// "MAJOR.MINOR.PATCH".
#define MANIFOLD_VERSION "0.1.0"

#endif  // MANIFOLD_VERSION_H_
