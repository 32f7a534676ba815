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
  target_link_libraries(${name} PRIVATE ${ARG_DEPS} GTest::gtest GTest::gmock GTest::gtest_main)
  set_target_properties(${name} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)
  target_compile_definitions(${name} PRIVATE
    RAIND_SOURCE_DIR="${PROJECT_SOURCE_DIR}" RAIND_BINARY_DIR="${CMAKE_BINARY_DIR}")
  if(ARG_SANDBOX)
    set(cmd ${PROJECT_SOURCE_DIR}/scripts/sandbox.sh -- $<TARGET_FILE:${name}>)
  else()
    set(cmd $<TARGET_FILE:${name}>)
  endif()
  add_test(NAME ${name} COMMAND ${cmd})
  if(NOT ARG_TIMEOUT)
    set(ARG_TIMEOUT 300)
  endif()
  set_tests_properties(${name} PROPERTIES LABELS "${ARG_LABEL}" TIMEOUT ${ARG_TIMEOUT}
    SKIP_RETURN_CODE 77
    ENVIRONMENT "RAIND_BIN_DIR=${CMAKE_BINARY_DIR}/bin;RAIND_SOURCE_DIR=${PROJECT_SOURCE_DIR};${ARG_ENV}")
endfunction()

# raind_add_script_test(name LABEL ... COMMAND ... [TIMEOUT s]) — a shell-driven test.
function(raind_add_script_test name)
  cmake_parse_arguments(ARG "" "LABEL;TIMEOUT" "COMMAND;ENV" ${ARGN})
  add_test(NAME ${name} COMMAND ${ARG_COMMAND})
  if(NOT ARG_TIMEOUT)
    set(ARG_TIMEOUT 300)
  endif()
  set_tests_properties(${name} PROPERTIES LABELS "${ARG_LABEL}" TIMEOUT ${ARG_TIMEOUT}
    SKIP_RETURN_CODE 77
    ENVIRONMENT "RAIND_BIN_DIR=${CMAKE_BINARY_DIR}/bin;RAIND_SOURCE_DIR=${PROJECT_SOURCE_DIR};${ARG_ENV}")
endfunction()
