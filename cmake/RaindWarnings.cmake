# Compiler flags shared by every Raind target.
set(RAIND_WARNING_FLAGS -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wcast-align
    -Wunused -Woverloaded-virtual -Wnull-dereference -Wformat=2 -Wimplicit-fallthrough)
if(RAIND_WERROR)
  list(APPEND RAIND_WARNING_FLAGS -Werror)
endif()

if(RAIND_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
endif()

# Hardening that costs nothing measurable.
add_compile_options(-fstack-protector-strong -D_FORTIFY_SOURCE=2 -fPIC)
