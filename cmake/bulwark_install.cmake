# Install rules (BULWARK_INSTALL): headers under include/bulwark/, the static
# libraries, the CMake package bulwark::runtime / bulwark::actors with a
# version file, pkg-config files, and the command-line tools when built.
include(CMakePackageConfigHelpers)

set(BULWARK_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/bulwark)
set(targets bulwark_runtime)
if(BULWARK_BUILD_ACTORS)
  list(APPEND targets bulwark_actors)
endif()
install(TARGETS ${targets} EXPORT bulwark-targets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/src/bulwark/runtime
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/bulwark
        FILES_MATCHING PATTERN "*.hpp")
if(BULWARK_BUILD_ACTORS)
  install(DIRECTORY ${PROJECT_SOURCE_DIR}/src/bulwark/actors
          DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/bulwark
          FILES_MATCHING PATTERN "*.hpp")
  install(FILES ${PROJECT_SOURCE_DIR}/cmake/bulwark_caf.cmake
          DESTINATION ${BULWARK_CMAKE_DIR})
endif()
install(EXPORT bulwark-targets NAMESPACE bulwark::
        DESTINATION ${BULWARK_CMAKE_DIR} FILE bulwark-targets.cmake)

configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/bulwark-config.cmake.in
  ${PROJECT_BINARY_DIR}/bulwark-config.cmake
  INSTALL_DESTINATION ${BULWARK_CMAKE_DIR})
# 0.x: a minor version may break the API, so only the same minor matches.
write_basic_package_version_file(${PROJECT_BINARY_DIR}/bulwark-config-version.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/bulwark-config.cmake
              ${PROJECT_BINARY_DIR}/bulwark-config-version.cmake
        DESTINATION ${BULWARK_CMAKE_DIR})

# pkg-config: bulwark-runtime.pc always, bulwark.pc with the actors layer.
# The prefix is found relative to the .pc file (${pcfiledir}), so the files
# stay right when `cmake --install --prefix` picks the prefix at install time.
file(RELATIVE_PATH BULWARK_PC_PREFIX "/${CMAKE_INSTALL_LIBDIR}/pkgconfig" "/")
string(REGEX REPLACE "/$" "" BULWARK_PC_PREFIX "${BULWARK_PC_PREFIX}")
set(BULWARK_PC_EXTRA_CFLAGS "")
set(BULWARK_PC_EXTRA_LIBS "")
set(BULWARK_PC_CAF_OPENSSL "")
if(BULWARK_WITH_TLS)
  set(BULWARK_PC_CAF_OPENSSL "-lcaf_openssl -lssl -lcrypto ")
endif()
if(BULWARK_SANITIZE)
  set(BULWARK_PC_EXTRA_CFLAGS "-fsanitize=address,undefined")
  set(BULWARK_PC_EXTRA_LIBS "-fsanitize=address,undefined")
endif()
configure_file(${PROJECT_SOURCE_DIR}/cmake/bulwark-runtime.pc.in
               ${PROJECT_BINARY_DIR}/bulwark-runtime.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/bulwark-runtime.pc
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
if(BULWARK_BUILD_ACTORS)
  configure_file(${PROJECT_SOURCE_DIR}/cmake/bulwark.pc.in
                 ${PROJECT_BINARY_DIR}/bulwark.pc @ONLY)
  install(FILES ${PROJECT_BINARY_DIR}/bulwark.pc
          DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
endif()

foreach(tool bulwark-config bulwark-chaos bulwark-trace)
  if(BULWARK_BUILD_TOOLS AND TARGET ${tool})
    install(TARGETS ${tool} RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
  endif()
endforeach()
