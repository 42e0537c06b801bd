# Install rules and the Debian package: `cpack -G DEB` in a build directory writes
# pgdr_VERSION_ARCH.deb and pgdr-dbgsym_VERSION_ARCH.ddeb (README.md, "Installing the package").
#
# The binary is installed with its debug information; CPack's DEB generator moves that into the
# -dbgsym package and strips the binary it packs (CPACK_DEBIAN_DEBUGINFO_PACKAGE), so build with
# debug information (RelWithDebInfo) for a useful -dbgsym. Depends is computed by dpkg-shlibdeps
# from the libraries the binary links (CPACK_DEBIAN_PACKAGE_SHLIBDEPS), so it follows the build
# machine's libraries rather than a list kept by hand.
# The package installs under /usr, as a distribution's does, whatever CMAKE_INSTALL_PREFIX an
# older build directory has cached; a new build directory installs there too by default. The
# systemd unit is configured with the package's paths (ExecStart=/usr/bin/pgdr): installed by hand
# under another prefix, it needs its ExecStart edited.
if(CMAKE_INSTALL_PREFIX_INITIALIZED_TO_DEFAULT)
  set(CMAKE_INSTALL_PREFIX /usr CACHE PATH "installation prefix" FORCE)
endif()
include(GNUInstallDirs)
set(PGDR_PACKAGE_PREFIX /usr)
set(CPACK_PACKAGING_INSTALL_PREFIX ${PGDR_PACKAGE_PREFIX})
set(PGDR_UNIT_BINDIR ${PGDR_PACKAGE_PREFIX}/${CMAKE_INSTALL_BINDIR})
set(PGDR_UNIT_DOCDIR ${PGDR_PACKAGE_PREFIX}/${CMAKE_INSTALL_DOCDIR})
configure_file(${PROJECT_SOURCE_DIR}/contrib/systemd/pgdr-daemon@.service.in
               ${PROJECT_BINARY_DIR}/systemd/pgdr-daemon@.service @ONLY)
configure_file(${PROJECT_SOURCE_DIR}/contrib/systemd/pgdr-archive-agent@.service.in
               ${PROJECT_BINARY_DIR}/systemd/pgdr-archive-agent@.service @ONLY)

install(TARGETS pgdr RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(FILES ${PGDR_MAN_PAGE}.gz DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
install(FILES ${PGDR_CONFIG_MAN_PAGE}.gz DESTINATION ${CMAKE_INSTALL_MANDIR}/man5)
# Where bash-completion loads completions on demand, by command name.
install(FILES ${PGDR_COMPLETION} DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions)
# PREFIX/lib/systemd/system: /usr/lib/systemd/system, a package's unit directory on a merged-/usr
# system (Debian 12).
install(FILES ${PROJECT_BINARY_DIR}/systemd/pgdr-daemon@.service DESTINATION lib/systemd/system)
install(FILES ${PROJECT_BINARY_DIR}/systemd/pgdr-archive-agent@.service DESTINATION lib/systemd/system)
install(FILES ${PROJECT_SOURCE_DIR}/contrib/pgdr.toml DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples)
# The markdown manual (docs/README.md is its front page), which the unit's Documentation= and the
# man pages point at.
install(DIRECTORY ${PROJECT_SOURCE_DIR}/docs/ DESTINATION ${CMAKE_INSTALL_DOCDIR}
        FILES_MATCHING PATTERN "*.md" PATTERN "*.json")

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME pgdr)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "disaster recovery for PostgreSQL: snapshots, restore, and proof that they work")
string(CONCAT CPACK_PACKAGE_DESCRIPTION
    "pgdr takes block-deduplicated, encrypted, checksummed snapshots of a running PostgreSQL 14 to 18 "
    "cluster, archives its WAL, restores in parallel to any point in time, and proves recoverability "
    "with verification, restore tests and drills that measure the RTO and RPO.")
set(PGDR_PACKAGE_MAINTAINER "pgdr maintainers <pgdr@localhost>" CACHE STRING
    "the Maintainer field of the Debian package")
set(CPACK_PACKAGE_CONTACT "${PGDR_PACKAGE_MAINTAINER}")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION database)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_DEBUGINFO_PACKAGE ON)
# The server programs for drills and restore tests (initdb, pg_ctl, postgres) and bash-completion
# are useful, not needed: pgdr backs up a server it reaches over libpq.
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "postgresql, bash-completion")
# Directories 0755 whatever the umask of the machine that packs.
set(CPACK_INSTALL_DEFAULT_DIRECTORY_PERMISSIONS
    OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ GROUP_EXECUTE WORLD_READ WORLD_EXECUTE)
include(CPack)
