# bulwark_reuse_caf_pch(target): compile `target` with bulwark_actors' CAF
# precompiled header (see src/CMakeLists.txt). Only for bulwark's own
# programs, built with the same flags as the library.
function(bulwark_reuse_caf_pch target)
  if(BULWARK_CAF_PCH AND TARGET bulwark_actors)
    target_precompile_headers(${target} REUSE_FROM bulwark_actors)
    target_compile_options(${target} PRIVATE ${BULWARK_CAF_SANITIZE_EXCEPTIONS})
    # Read from the target: this runs in other directories' scopes too.
    get_target_property(launcher bulwark_actors CXX_COMPILER_LAUNCHER)
    if(launcher)
      set_target_properties(${target} PROPERTIES
        CXX_COMPILER_LAUNCHER "${launcher}")
    endif()
  endif()
endfunction()
