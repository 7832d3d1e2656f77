# Finds CAF 0.17.6 and defines bulwark::caf_core and bulwark::caf_io, and
# bulwark::caf_openssl when CAF's OpenSSL module (libcaf_openssl, also in
# libcaf-dev) and OpenSSL (libssl-dev) are there: nodes need them for mutual
# TLS (docs/cluster.md).
# Debian 12's libcaf-dev ships no CMake package, so the headers and libraries
# are found by name. Used by bulwark's own build and by the installed
# package (bulwark-config.cmake), so a consumer gets the same targets.
if(TARGET bulwark::caf_io)
  return()
endif()
find_package(Threads REQUIRED)
find_path(BULWARK_CAF_INCLUDE_DIR caf/all.hpp)
find_library(BULWARK_CAF_CORE_LIBRARY caf_core)
find_library(BULWARK_CAF_IO_LIBRARY caf_io)
find_library(BULWARK_CAF_OPENSSL_LIBRARY caf_openssl)
if(NOT BULWARK_CAF_INCLUDE_DIR OR NOT BULWARK_CAF_CORE_LIBRARY
   OR NOT BULWARK_CAF_IO_LIBRARY)
  message(FATAL_ERROR "CAF 0.17.6 not found (on Debian 12: apt-get install "
                      "libcaf-dev); bulwark's runtime alone builds without it "
                      "(-DBULWARK_BUILD_ACTORS=OFF)")
endif()
# GLOBAL: a project that adds bulwark with add_subdirectory links
# bulwark::actors from its own directories, which must see these too.
# SYSTEM include directory: warnings inside CAF headers never fail a
# -Werror build.
add_library(bulwark::caf_core UNKNOWN IMPORTED GLOBAL)
set_target_properties(bulwark::caf_core PROPERTIES
  IMPORTED_LOCATION ${BULWARK_CAF_CORE_LIBRARY}
  INTERFACE_INCLUDE_DIRECTORIES ${BULWARK_CAF_INCLUDE_DIR}
  INTERFACE_SYSTEM_INCLUDE_DIRECTORIES ${BULWARK_CAF_INCLUDE_DIR}
  INTERFACE_LINK_LIBRARIES Threads::Threads)
add_library(bulwark::caf_io UNKNOWN IMPORTED GLOBAL)
set_target_properties(bulwark::caf_io PROPERTIES
  IMPORTED_LOCATION ${BULWARK_CAF_IO_LIBRARY}
  INTERFACE_LINK_LIBRARIES bulwark::caf_core)
# Optional: without it bulwark builds without TLS (BULWARK_WITH_TLS OFF).
# OpenSSL's own headers (libssl-dev) are needed too: bulwark loads the
# certificate, key and CA files once at start, because CAF loads them again
# for every connection and aborts the process when that fails.
find_package(OpenSSL QUIET COMPONENTS SSL Crypto)
if(BULWARK_CAF_OPENSSL_LIBRARY AND OpenSSL_FOUND
   AND EXISTS ${BULWARK_CAF_INCLUDE_DIR}/caf/openssl/manager.hpp)
  add_library(bulwark::caf_openssl UNKNOWN IMPORTED GLOBAL)
  set_target_properties(bulwark::caf_openssl PROPERTIES
    IMPORTED_LOCATION ${BULWARK_CAF_OPENSSL_LIBRARY}
    INTERFACE_LINK_LIBRARIES "bulwark::caf_io;OpenSSL::SSL;OpenSSL::Crypto")
endif()
