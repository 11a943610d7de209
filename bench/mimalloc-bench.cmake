# bench/mimalloc-bench.cmake - included right after project() in
# mimalloc-bench's bench/CMakeLists.txt (CMAKE_PROJECT_INCLUDE, set by
# bench/mimalloc-bench.py), so the checkout itself stays untouched.
#
# A target whose sources are missing from the checkout is skipped with a
# "hakmem-skip:" status line instead of failing the whole configure step:
# sh6bench and sh8bench are built from sources that mimalloc-bench's
# build-bench-env.sh downloads separately, and a plain clone lacks them.
# The target_* commands ignore the skipped targets.

function(add_executable name)
  foreach(src IN LISTS ARGN)
    if(NOT IS_ABSOLUTE "${src}")
      set(src "${CMAKE_CURRENT_SOURCE_DIR}/${src}")
    endif()
    if(NOT EXISTS "${src}")
      message(STATUS "hakmem-skip: ${name}: missing source ${src}")
      return()
    endif()
  endforeach()
  _add_executable(${name} ${ARGN})
endfunction()

foreach(cmd IN ITEMS target_compile_options target_compile_definitions
                     target_include_directories target_link_libraries)
  cmake_language(EVAL CODE "
    function(${cmd} name)
      if(TARGET \${name})
        _${cmd}(\${name} \${ARGN})
      endif()
    endfunction()")
endforeach()
