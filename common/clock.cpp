#include "common/clock.hpp"
// Header-only today; the translation unit keeps the vtable anchored here.
