# embed_dir.cmake: turns every file of a directory (one level: the dashboard's assets) into C
# arrays and a table of {name, content type, bytes, length} at build time (cmake -P, no tool
# beyond CMake), so the daemon serves the dashboard from its own binary (broker/api/api_ui.c).
# Usage: cmake -DDIR=dashboard -DOUT=ui_assets.c -P embed_dir.cmake
file(GLOB names RELATIVE "${DIR}" "${DIR}/*")
list(SORT names)
set(arrays "")
set(table "")
set(i 0)
foreach(name IN LISTS names)
  if(IS_DIRECTORY "${DIR}/${name}" OR name MATCHES "^\\." OR name MATCHES "~$")
    continue()
  endif()
  if(name MATCHES "\\.html$")
    set(type "text/html; charset=utf-8")
  elseif(name MATCHES "\\.css$")
    set(type "text/css; charset=utf-8")
  elseif(name MATCHES "\\.js$")
    set(type "text/javascript; charset=utf-8")
  elseif(name MATCHES "\\.svg$")
    set(type "image/svg+xml")
  elseif(name MATCHES "\\.json$")
    set(type "application/json")
  else()
    continue() # only the kinds above are served
  endif()
  file(READ "${DIR}/${name}" hex HEX)
  string(LENGTH "${hex}" hexlen)
  math(EXPR len "${hexlen} / 2")
  string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," body "${hex}")
  string(REGEX REPLACE "((0x[0-9a-f][0-9a-f],){32})" "\\1\n" body "${body}")
  string(APPEND arrays "static const unsigned char a${i}[] = {\n${body}0x00};\n")
  string(APPEND table "    {\"${name}\", \"${type}\", a${i}, ${len}},\n")
  math(EXPR i "${i} + 1")
endforeach()
file(WRITE "${OUT}.tmp"
     "/* Generated from ${DIR} by broker/api/embed_dir.cmake: do not edit. */\n"
     "#include \"broker/api/ui_assets.h\"\n\n"
     "${arrays}\n"
     "const ui_asset ui_assets[] = {\n${table}    {0, 0, 0, 0}};\n"
     "const size_t ui_assets_count = ${i};\n")
file(RENAME "${OUT}.tmp" "${OUT}")
