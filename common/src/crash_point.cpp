#include "raind/crash_point.hpp"

#ifdef RAIND_CRASH_POINTS_ENABLED
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cstdlib>

#include "raind/log.hpp"
#endif

namespace raind {

#ifdef RAIND_CRASH_POINTS_ENABLED
void crash_point(std::string_view point) {
  const char* at = std::getenv("RAIND_TEST_CRASH_AT");
  if (!at || point != at) return;
  if (const char* once = std::getenv("RAIND_TEST_CRASH_ONCE"); once && *once) {
    int fd = ::open(once, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) return;  // fired already
    ::close(fd);
  }
  logger("crash_point")->warn("crash point {} reached: killing pid {}", point, ::getpid());
  ::kill(::getpid(), SIGKILL);
}
#else
void crash_point(std::string_view) {}
#endif

}  // namespace raind
