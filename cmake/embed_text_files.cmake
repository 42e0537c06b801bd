# Writes a C++ source that holds text files as raw string literals, for files the binary must carry
# (the retail data set's SQL). Run as a script:
#   cmake -DOUTPUT=out.cpp -DBASE_DIR=dir -DFILES="a.sql|workload/b.sql" -DNAMESPACE=pgdr::demo
#         -DFUNCTION=retail_files -DHEADER=demo/retail_files.h -P embed_text_files.cmake
# Each file gets the first delimiter of sql0..sql99 that cannot end its literal early (the text
# never contains ")sqlN\""), so any file content is carried byte for byte.
cmake_minimum_required(VERSION 3.25)
foreach(var OUTPUT BASE_DIR FILES NAMESPACE FUNCTION HEADER)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "embed_text_files.cmake: ${var} is not set")
  endif()
endforeach()

string(REPLACE "|" ";" FILES "${FILES}")
set(body "")
foreach(name IN LISTS FILES)
  file(READ "${BASE_DIR}/${name}" text)
  set(delimiter "")
  foreach(n RANGE 0 99)
    string(FIND "${text}" ")sql${n}\"" found)
    if(found EQUAL -1)
      set(delimiter "sql${n}")
      break()
    endif()
  endforeach()
  if(delimiter STREQUAL "")
    message(FATAL_ERROR "embed_text_files.cmake: no raw string delimiter fits ${BASE_DIR}/${name}")
  endif()
  string(APPEND body "      {\"${name}\", R\"${delimiter}(${text})${delimiter}\"},\n")
endforeach()

set(content "// Generated at build time by cmake/embed_text_files.cmake from ${BASE_DIR}; do not edit.
#include \"${HEADER}\"

namespace ${NAMESPACE} {

const std::vector<EmbeddedFile>& ${FUNCTION}() {
  static const std::vector<EmbeddedFile> files{
${body}  };
  return files;
}

}  // namespace ${NAMESPACE}
")

# Rewrite only on change, so that an unchanged tree does not recompile.
if(EXISTS "${OUTPUT}")
  file(READ "${OUTPUT}" old)
  if(old STREQUAL content)
    return()
  endif()
endif()
file(WRITE "${OUTPUT}" "${content}")
