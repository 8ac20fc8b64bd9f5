// Role names of a conversation (see conversation.h).
#include "conversation.h"

#include "util/error.h"

namespace lathe {

const char* roleName(Role role)
{
    switch (role) {
    case Role::User:
        return "user";
    case Role::Assistant:
        return "assistant";
    case Role::Observation:
        return "observation";
    case Role::Function:
        return "function";
    }
    return "?";
}

Role roleFromName(const std::string& name)
{
    for (const Role role : {Role::User, Role::Assistant, Role::Observation, Role::Function})
        if (name == roleName(role))
            return role;
    fail("Unexpected role: ", name, " (expected user, assistant, observation or function)");
}

} // namespace lathe
