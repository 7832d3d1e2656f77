# bulwark_reuse_caf_pch(target): compile `target` like bulwark_actors (see
# src/CMakeLists.txt): with its CAF sanitizer exceptions and, when
# BULWARK_CAF_PCH is on, its precompiled CAF header. Only for bulwark's own
# programs that include CAF, built with the same flags as the library.
function(bulwark_reuse_caf_pch target)
  target_compile_options(${target} PRIVATE ${BULWARK_CAF_SANITIZE_EXCEPTIONS})
  if(BULWARK_CAF_PCH AND TARGET bulwark_actors)
    target_precompile_headers(${target} REUSE_FROM bulwark_actors)
    # Read from the target: this runs in other directories' scopes too.
    get_target_property(launcher bulwark_actors CXX_COMPILER_LAUNCHER)
    if(launcher)
      set_target_properties(${target} PROPERTIES
        CXX_COMPILER_LAUNCHER "${launcher}")
    endif()
  endif()
endfunction()
