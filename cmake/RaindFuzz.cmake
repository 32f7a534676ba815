# libFuzzer targets (tests/fuzz/), built only in their own clang tree: scripts/build.sh fuzz.
# Each target links raind_fuzz_product, the pure parsers it exercises compiled from the product's
# own sources with coverage instrumentation; nothing else of the product is built by clang.
if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang" OR CMAKE_CXX_COMPILER_VERSION VERSION_LESS 16)
  message(FATAL_ERROR "RAIND_BUILD_FUZZ needs clang >= 16 (CXX=clang++-16 CC=clang-16; "
                      "Debian packages clang-16 libclang-rt-16-dev)")
endif()

# libstdc++ 12 only declares std::expected when __cpp_concepts >= 202002L, and clang 16 still
# announces 201907L although it implements what <expected> needs: say the newer value.
set(RAIND_FUZZ_CXX_FLAGS -Wno-builtin-macro-redefined -U__cpp_concepts -D__cpp_concepts=202002L
    -g -O1 -fno-omit-frame-pointer -fno-sanitize-recover=all)
set(RAIND_FUZZ_SANITIZERS address,undefined)

set(RAIND_FUZZ_PRODUCT_SOURCES
  common/src/error.cpp
  common/src/attach_frame.cpp
  common/src/digest.cpp
  common/src/units.cpp
  common/src/ulid.cpp
  common/src/oci/runtime_spec.cpp
  common/src/sys/files.cpp
  condenser/api/strict_json.cpp
  condenser/bottle/env.cpp
  condenser/bottle/model.cpp
  condenser/bottle/order.cpp
  condenser/bottle/parse.cpp
  condenser/bottle/units.cpp
  condenser/containers/config_gen.cpp
  condenser/containers/etc_files.cpp
  condenser/containers/naming.cpp
  condenser/containers/port_spec.cpp
  condenser/containers/record.cpp
  condenser/containers/volume_spec.cpp
  condenser/dnsproxy/message.cpp
  condenser/flowlog/enrich.cpp
  condenser/flowlog/json_scan.cpp
  condenser/flowlog/prefix.cpp
  condenser/flowlog/timestamp.cpp
  condenser/identity/identity.cpp
  condenser/images/image_index.cpp
  condenser/images/layer_reader.cpp
  condenser/images/layer_unpack.cpp
  condenser/images/oci_manifest.cpp
  condenser/images/reference.cpp
  condenser/images/safe_path.cpp
  condenser/images/sha256_stream.cpp
  condenser/network/ipv4.cpp
  condenser/network/network_name.cpp
  condenser/policy/policy.cpp)
list(TRANSFORM RAIND_FUZZ_PRODUCT_SOURCES PREPEND ${PROJECT_SOURCE_DIR}/)

add_library(raind_fuzz_product STATIC ${RAIND_FUZZ_PRODUCT_SOURCES})
target_include_directories(raind_fuzz_product PUBLIC ${PROJECT_SOURCE_DIR}/common/include
                                                     ${PROJECT_SOURCE_DIR})
target_compile_options(raind_fuzz_product PUBLIC ${RAIND_FUZZ_CXX_FLAGS}
  PRIVATE -fsanitize=fuzzer-no-link,${RAIND_FUZZ_SANITIZERS})
target_compile_definitions(raind_fuzz_product PUBLIC RAIND_VERSION="${PROJECT_VERSION}")
target_link_libraries(raind_fuzz_product PUBLIC fmt::fmt spdlog::spdlog
  nlohmann_json::nlohmann_json yaml-cpp::yaml-cpp OpenSSL::Crypto PkgConfig::LIBARCHIVE
  PkgConfig::LDNS Threads::Threads)

add_custom_target(fuzz_targets)

# raind_add_fuzzer(name SOURCES ... [SMOKE_SECONDS s]) — one libFuzzer binary in
# <build>/fuzz/, and its CTest smoke run (label fuzz) over the seed corpus in the calling
# directory's corpus/<name>/. New inputs go to a scratch corpus in the build tree, so the
# checked-in seeds are never modified. A dictionary <name>.dict next to the sources is used when
# present.
function(raind_add_fuzzer name)
  cmake_parse_arguments(ARG "" "SMOKE_SECONDS" "SOURCES" ${ARGN})
  if(NOT ARG_SMOKE_SECONDS)
    set(ARG_SMOKE_SECONDS 5)
  endif()
  add_executable(${name} ${ARG_SOURCES})
  target_compile_options(${name} PRIVATE ${RAIND_WARNING_FLAGS}
    -fsanitize=fuzzer,${RAIND_FUZZ_SANITIZERS})
  target_link_options(${name} PRIVATE -fsanitize=fuzzer,${RAIND_FUZZ_SANITIZERS})
  target_link_libraries(${name} PRIVATE raind_fuzz_product)
  target_include_directories(${name} PRIVATE ${PROJECT_SOURCE_DIR}/tests/fuzz)
  set_target_properties(${name} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/fuzz)
  add_dependencies(fuzz_targets ${name})
  set(seeds ${CMAKE_CURRENT_SOURCE_DIR}/corpus/${name})
  if(NOT IS_DIRECTORY ${seeds})
    message(FATAL_ERROR "fuzz target ${name} has no seed corpus ${seeds}")
  endif()
  set(dict)
  if(EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/${name}.dict)
    set(dict ${CMAKE_CURRENT_SOURCE_DIR}/${name}.dict)
  endif()
  add_test(NAME ${name}
    COMMAND ${PROJECT_SOURCE_DIR}/tests/fuzz/smoke.sh $<TARGET_FILE:${name}>
            ${CMAKE_BINARY_DIR}/fuzz/scratch/${name} ${seeds} ${ARG_SMOKE_SECONDS} ${dict})
  set_tests_properties(${name} PROPERTIES LABELS fuzz TIMEOUT 120)
endfunction()
