# embed_file.cmake: turns a file into a C array at build time (cmake -P, no tool beyond CMake),
# so the daemon serves docs/openapi.json exactly as the repository has it.
# Usage: cmake -DIN=docs/openapi.json -DOUT=openapi_doc.c -DNAME=api_openapi_doc -P embed_file.cmake
file(READ "${IN}" hex HEX)
string(LENGTH "${hex}" hexlen)
math(EXPR len "${hexlen} / 2")
# 32 bytes a line
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," body "${hex}")
string(REGEX REPLACE "((0x[0-9a-f][0-9a-f],){32})" "\\1\n" body "${body}")
file(WRITE "${OUT}.tmp"
     "/* Generated from ${IN} by broker/api/embed_file.cmake: do not edit. */\n"
     "#include \"broker/api/openapi_doc.h\"\n\n"
     "const unsigned char ${NAME}[] = {\n${body}0x00};\n"
     "const size_t ${NAME}_len = ${len};\n")
file(RENAME "${OUT}.tmp" "${OUT}")
