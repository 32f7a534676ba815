# Compiler flags shared by every Raind target.
set(RAIND_WARNING_FLAGS -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wcast-align
    -Wunused -Woverloaded-virtual -Wformat=2 -Wimplicit-fallthrough)
# GCC 12's libstdc++ trips -Wrestrict/-Wstringop-overflow false positives inside std::string
# at higher optimisation levels (GCC PR 105329); they say nothing about our code.
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
  list(APPEND RAIND_WARNING_FLAGS -Wno-restrict -Wno-stringop-overflow)
endif()
if(RAIND_WERROR)
  list(APPEND RAIND_WARNING_FLAGS -Werror)
endif()

if(RAIND_SANITIZE)
  # -O0 -g1: optimising the instrumented template-heavy code (asio, beast, nlohmann) more than
  # doubles a build CI pays for on every run; line tables are all the reports need.
  # GCC's flow analysis on instrumented code reports uninitialised std::function members inside
  # <regex> that are not (a known false positive of sanitizer builds).
  add_compile_options(-O0 -g1 -Wno-maybe-uninitialized)
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
endif()

# Hardening that costs nothing measurable.
add_compile_options(-fstack-protector-strong -D_FORTIFY_SOURCE=2 -fPIC)

# -O2: the benchmarks measure process start-up, where -O3 buys nothing but code size.
set(CMAKE_CXX_FLAGS_RELEASE "-O2 -DNDEBUG" CACHE STRING "" FORCE)
set(CMAKE_C_FLAGS_RELEASE "-O2 -DNDEBUG" CACHE STRING "" FORCE)
