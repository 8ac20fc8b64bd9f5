# Runs render_chat_templates.mjs in DIR. Without node_modules (a failed install) it writes nothing, so the
# tests that compare with HF skip with a message instead of comparing with stale renders.
set(out "${DIR}/hf_chat_templates.json")
set(jinja_out "${DIR}/jinja_renders.json")
file(REMOVE "${out}" "${jinja_out}")
if(NOT EXISTS "${DIR}/node_modules/@huggingface/transformers")
  message(WARNING "template_data: node_modules missing; no HF renders")
  return()
endif()
execute_process(COMMAND "${NODE}" render_chat_templates.mjs conversations.json "${out}"
                WORKING_DIRECTORY "${DIR}" RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "template_data: render_chat_templates.mjs failed (${rc})")
endif()
execute_process(COMMAND "${NODE}" render_jinja_templates.mjs "${SRC}/jinja/templates.json" "${SRC}/jinja/chats.json"
                        "${jinja_out}"
                WORKING_DIRECTORY "${DIR}" RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "template_data: render_jinja_templates.mjs failed (${rc})")
endif()
