# pgdr_embed_text_files(TARGET tgt OUTPUT file.cpp BASE_DIR dir GLOBS pattern... NAMESPACE ns
#                       FUNCTION name HEADER header.h)
# Adds to tgt a generated source defining `const std::vector<EmbeddedFile>& ns::name()` over the
# files matching GLOBS under BASE_DIR (names relative to it), regenerated whenever one changes.
function(pgdr_embed_text_files)
  cmake_parse_arguments(E "" "TARGET;OUTPUT;BASE_DIR;NAMESPACE;FUNCTION;HEADER" "GLOBS" ${ARGN})
  list(TRANSFORM E_GLOBS PREPEND ${E_BASE_DIR}/ OUTPUT_VARIABLE patterns)
  file(GLOB files CONFIGURE_DEPENDS RELATIVE ${E_BASE_DIR} ${patterns})
  list(SORT files)
  list(TRANSFORM files PREPEND ${E_BASE_DIR}/ OUTPUT_VARIABLE paths)
  # A list cannot cross a custom command's argument list intact: pass it joined with '|'.
  string(REPLACE ";" "|" file_names "${files}")
  set(script ${PROJECT_SOURCE_DIR}/cmake/embed_text_files.cmake)
  add_custom_command(OUTPUT ${E_OUTPUT}
    COMMAND ${CMAKE_COMMAND} -DOUTPUT=${E_OUTPUT} -DBASE_DIR=${E_BASE_DIR} -DFILES=${file_names}
      -DNAMESPACE=${E_NAMESPACE} -DFUNCTION=${E_FUNCTION} -DHEADER=${E_HEADER} -P ${script}
    DEPENDS ${paths} ${script}
    COMMENT "Embedding ${E_BASE_DIR}"
    VERBATIM)
  target_sources(${E_TARGET} PRIVATE ${E_OUTPUT})
endfunction()
