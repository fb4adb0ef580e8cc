# What `cmake --install build [--prefix P]` puts under the prefix: libferry (shared and
# static), ferry.h and ferry.pc for pkg-config.
install(TARGETS ferry_shared ferry_static
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
