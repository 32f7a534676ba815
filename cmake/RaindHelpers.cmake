# raind_add_library(name SOURCES ... DEPS ...) — a static library with Raind's flags.
function(raind_add_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS;PUBLIC_INCLUDE" ${ARGN})
  add_library(${name} STATIC ${ARG_SOURCES})
  target_compile_options(${name} PRIVATE ${RAIND_WARNING_FLAGS})
  if(ARG_PUBLIC_INCLUDE)
    target_include_directories(${name} PUBLIC ${ARG_PUBLIC_INCLUDE})
  endif()
  if(ARG_DEPS)
    target_link_libraries(${name} PUBLIC ${ARG_DEPS})
  endif()
endfunction()

# raind_add_executable(name SOURCES ... DEPS ...)
function(raind_add_executable name)
  cmake_parse_arguments(ARG "" "OUTPUT_NAME" "SOURCES;DEPS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_compile_options(${name} PRIVATE ${RAIND_WARNING_FLAGS})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS})
  if(ARG_OUTPUT_NAME)
    set_target_properties(${name} PROPERTIES OUTPUT_NAME ${ARG_OUTPUT_NAME})
  endif()
  set_target_properties(${name} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/bin)
endfunction()

# Sanitized builds (RAIND_SANITIZE): each test runs under scripts/sanitizer-reports.sh, and every
# sanitized process it starts writes its reports to <build>/sanitizer-reports/<test>.<exe>.<pid>
# instead of stderr. A report from a process whose exit status no test looks at (a droplet that
# condenserd runs during cleanup, a daemon stopped at teardown) still fails the test; the wrapper
# prints the reports. Leak checking is on; UBSan prints stacks and, like ASan, stops at the first
# error (the build also has -fno-sanitize-recover=undefined). The instrumented -O0 programs run
# several times slower, so CTest timeouts are 4x longer.
macro(_raind_sanitizer_wrap name cmd_var timeout_var env_var)
  set(${env_var} "")
  if(RAIND_SANITIZE)
    math(EXPR ${timeout_var} "${${timeout_var}} * 4")
    set(_reports ${CMAKE_BINARY_DIR}/sanitizer-reports/${name})
    set(${cmd_var} ${PROJECT_SOURCE_DIR}/scripts/sanitizer-reports.sh ${_reports} -- ${${cmd_var}})
    set(_log "log_path=${_reports}:log_exe_name=1")
    set(${env_var} "ASAN_OPTIONS=detect_leaks=1:check_initialization_order=1:strict_init_order=1:${_log};\
UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:${_log};")
  endif()
endmacro()

# Test code itself is compiled without sanitizer instrumentation: the sanitized build checks the
# product (its libraries, which the tests link, and the programs they run), and instrumenting
# the harnesses too would add a third to the build for no finding about Raind.
function(raind_test_code target)
  if(RAIND_SANITIZE)
    target_compile_options(${target} PRIVATE -fno-sanitize=all)
  endif()
endfunction()

# raind_add_gtest(name LABEL unit|privileged|integration|conformance SOURCES ... DEPS ...
#                 [SANDBOX] [TIMEOUT s] [ENV k=v ...])
# One GoogleTest binary registered as ONE ctest entry per binary (fast to list; gtest prints its
# own per-case results). SANDBOX wraps the run in scripts/sandbox.sh (fresh netns/mntns, temp
# roots, nested cgroup). Privileged tests skip themselves (GTEST_SKIP) when not root or a kernel
# feature is missing.
function(raind_add_gtest name)
  cmake_parse_arguments(ARG "SANDBOX" "LABEL;TIMEOUT" "SOURCES;DEPS;ENV" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_compile_options(${name} PRIVATE ${RAIND_WARNING_FLAGS})
  raind_test_code(${name})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS} GTest::gtest GTest::gmock GTest::gtest_main)
  set_target_properties(${name} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)
  target_compile_definitions(${name} PRIVATE
    RAIND_SOURCE_DIR="${PROJECT_SOURCE_DIR}" RAIND_BINARY_DIR="${CMAKE_BINARY_DIR}")
  if(ARG_SANDBOX)
    set(cmd ${PROJECT_SOURCE_DIR}/scripts/sandbox.sh -- $<TARGET_FILE:${name}>)
  else()
    set(cmd $<TARGET_FILE:${name}>)
  endif()
  if(NOT ARG_TIMEOUT)
    set(ARG_TIMEOUT 300)
  endif()
  _raind_sanitizer_wrap(${name} cmd ARG_TIMEOUT sanitizer_env)
  add_test(NAME ${name} COMMAND ${cmd})
  set_tests_properties(${name} PROPERTIES LABELS "${ARG_LABEL}" TIMEOUT ${ARG_TIMEOUT}
    SKIP_RETURN_CODE 77
    ENVIRONMENT "RAIND_BIN_DIR=${CMAKE_BINARY_DIR}/bin;RAIND_SOURCE_DIR=${PROJECT_SOURCE_DIR};${sanitizer_env}${ARG_ENV}")
endfunction()

# raind_add_script_test(name LABEL ... COMMAND ... [TIMEOUT s]) — a shell-driven test.
function(raind_add_script_test name)
  cmake_parse_arguments(ARG "" "LABEL;TIMEOUT" "COMMAND;ENV" ${ARGN})
  set(cmd ${ARG_COMMAND})
  if(NOT ARG_TIMEOUT)
    set(ARG_TIMEOUT 300)
  endif()
  _raind_sanitizer_wrap(${name} cmd ARG_TIMEOUT sanitizer_env)
  add_test(NAME ${name} COMMAND ${cmd})
  set_tests_properties(${name} PROPERTIES LABELS "${ARG_LABEL}" TIMEOUT ${ARG_TIMEOUT}
    SKIP_RETURN_CODE 77
    ENVIRONMENT "RAIND_BIN_DIR=${CMAKE_BINARY_DIR}/bin;RAIND_SOURCE_DIR=${PROJECT_SOURCE_DIR};${sanitizer_env}${ARG_ENV}")
endfunction()
