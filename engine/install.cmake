# What `cmake --install build [--prefix P]` puts under the prefix: libferry (shared and
# static), ferry.h, ferry.pc for pkg-config, and the CMake package for find_package(ferry).
include(CMakePackageConfigHelpers)

install(TARGETS ferry_shared ferry_static EXPORT ferryTargets
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(FILES include/ferry.h DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})

# ferry.pc. The prefix is known only when installing (--prefix may differ from the one given
# at configure time), so the file is made in two passes: everything else now, leaving
# @CMAKE_INSTALL_PREFIX@ in place, then prefix= at install time from the install's own
# CMAKE_INSTALL_PREFIX (without DESTDIR, as pkg-config users need).
set(FERRY_PC_PREFIX "@CMAKE_INSTALL_PREFIX@")
foreach(dir LIBDIR INCLUDEDIR)
  if(IS_ABSOLUTE "${CMAKE_INSTALL_${dir}}")
    set(FERRY_PC_${dir} "${CMAKE_INSTALL_${dir}}")
  else()
    set(FERRY_PC_${dir} "\${prefix}/${CMAKE_INSTALL_${dir}}")
  endif()
endforeach()
configure_file(ferry.pc.in ${CMAKE_CURRENT_BINARY_DIR}/ferry.pc.prefixless @ONLY)
install(CODE "configure_file(\"${CMAKE_CURRENT_BINARY_DIR}/ferry.pc.prefixless\"
                             \"${CMAKE_CURRENT_BINARY_DIR}/ferry.pc\" @ONLY)")
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/ferry.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

# The CMake package: targets ferry::ferry (shared) and ferry::ferry_static. Its files locate
# the prefix from where they are, so they need no second pass.
set(FERRY_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/ferry)
install(EXPORT ferryTargets NAMESPACE ferry:: DESTINATION ${FERRY_CMAKE_DIR})
configure_package_config_file(ferryConfig.cmake.in ${CMAKE_CURRENT_BINARY_DIR}/ferryConfig.cmake
                              INSTALL_DESTINATION ${FERRY_CMAKE_DIR})
# SOVERSION is the major version: a newer release with the same major is accepted.
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/ferryConfigVersion.cmake
                                 VERSION ${PROJECT_VERSION} COMPATIBILITY SameMajorVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/ferryConfig.cmake
              ${CMAKE_CURRENT_BINARY_DIR}/ferryConfigVersion.cmake
        DESTINATION ${FERRY_CMAKE_DIR})
