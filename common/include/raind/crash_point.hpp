#pragma once
// Named crash points for fault-injection tests (tests/integration/faults). When the environment
// variable RAIND_TEST_CRASH_AT names `point`, the process SIGKILLs itself there, as a power cut
// or the OOM killer would leave it. With RAIND_TEST_CRASH_ONCE=<file> as well, only the first
// process that creates <file> dies, so a retry runs through (droplet is started afresh for every
// operation, with the daemon's environment).
// Compiled in only with the CMake option RAIND_CRASH_POINTS (on in builds with tests); without
// it this is a no-op and the environment is never read.
#include <string_view>

namespace raind {

void crash_point(std::string_view point);

}  // namespace raind
