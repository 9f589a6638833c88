# What `cmake --install` puts where, and the Debian package CPack makes of it
# (`cpack -G DEB` in the build directory; scripts/package.sh does both).
#
# Paths under the prefix follow GNUInstallDirs, so --prefix /usr/local works
# too: systemd and bash-completion both search /usr/local. The files the unit
# reads by absolute path (/etc/default/sstrace) and logrotate's drop-in go
# to /etc whatever the prefix, as their readers only look there.

include(GNUInstallDirs)

set(SSTRACE_PACKAGING_DIR ${PROJECT_SOURCE_DIR}/packaging)

install(TARGETS sstrace RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})

# The man page, compressed as Debian installs man pages (-n: no name or time
# in the header, so the package is reproducible).
find_program(GZIP_EXECUTABLE gzip REQUIRED)
set(SSTRACE_MAN_GZ ${PROJECT_BINARY_DIR}/packaging/sstrace.8.gz)
add_custom_command(
  OUTPUT ${SSTRACE_MAN_GZ}
  COMMAND ${CMAKE_COMMAND} -E make_directory ${PROJECT_BINARY_DIR}/packaging
  COMMAND ${GZIP_EXECUTABLE} -9n -c ${SSTRACE_PACKAGING_DIR}/sstrace.8 > ${SSTRACE_MAN_GZ}
  DEPENDS ${SSTRACE_PACKAGING_DIR}/sstrace.8
  COMMENT "Compressing the man page"
  VERBATIM)
add_custom_target(sstrace_man ALL DEPENDS ${SSTRACE_MAN_GZ})
install(FILES ${SSTRACE_MAN_GZ} DESTINATION ${CMAKE_INSTALL_MANDIR}/man8)

install(FILES ${SSTRACE_PACKAGING_DIR}/sstrace.bash-completion
        DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions RENAME sstrace)

# The unit names the binary by its installed path, which is known only when
# installing: CPack installs with prefix /usr whatever the build was
# configured with. So it is configured by the install step itself.
install(CODE "
  set(SSTRACE_BINDIR \"\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_BINDIR}\")
  configure_file(\"${SSTRACE_PACKAGING_DIR}/sstrace.service.in\"
                 \"${PROJECT_BINARY_DIR}/packaging/sstrace.service\" @ONLY)
  file(INSTALL \"${PROJECT_BINARY_DIR}/packaging/sstrace.service\"
       DESTINATION \"\${CMAKE_INSTALL_PREFIX}/lib/systemd/system\")
")

install(FILES ${SSTRACE_PACKAGING_DIR}/sstrace.default DESTINATION /etc/default RENAME sstrace)
install(FILES ${SSTRACE_PACKAGING_DIR}/sstrace.logrotate DESTINATION /etc/logrotate.d RENAME sstrace)

# The documents the man page points at, and the log-pipeline example.
install(FILES ${PROJECT_SOURCE_DIR}/docs/events.md ${PROJECT_SOURCE_DIR}/docs/snapshot-json.md
              ${PROJECT_SOURCE_DIR}/docs/metrics.md ${PROJECT_SOURCE_DIR}/docs/troubleshooting.md
              ${PROJECT_SOURCE_DIR}/docs/schema/events.schema.json ${PROJECT_SOURCE_DIR}/README.md
        DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(FILES ${SSTRACE_PACKAGING_DIR}/rsyslog-sstrace.conf DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples)

# --- CPack: one .deb -------------------------------------------------------
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME sstrace)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "sstrace maintainers <sstrace@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "ss that keeps watching: a live stream of TCP connection events")
# CPack puts the summary above this text itself.
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION
    "sstrace seeds its view of every TCP connection from a sock_diag dump, as ss
 does, then keeps it exact with CO-RE eBPF programs on the kernel's TCP
 tracepoints, and streams every change (state, RTT, retransmission, reset,
 close with a summary, the reason of a failure) as JSON lines or text.
 It also has an ss-compatible snapshot, a top-like churn view and
 Prometheus metrics.")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# The shared libraries' packages come from dpkg-shlibdeps (libbpf1, libelf1,
# zlib1g, ...); adduser is what the postinst runs.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "adduser")
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "logrotate")
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "rsyslog, bash-completion")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${SSTRACE_PACKAGING_DIR}/debian/postinst ${SSTRACE_PACKAGING_DIR}/debian/prerm
    ${SSTRACE_PACKAGING_DIR}/debian/postrm ${SSTRACE_PACKAGING_DIR}/debian/conffiles)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION TRUE)
# The RelWithDebInfo binary without its debug sections (a fifth of the size).
set(CPACK_STRIP_FILES TRUE)
include(CPack)
