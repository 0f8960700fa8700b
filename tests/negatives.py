"""The negative suites of both formats, shared by their schema tests and the fast-path agreement
(test_fast_path.py): each case is a documented example or spec fixture broken in one place, with
the path and rule the check must report."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from corpus import CALIPER_SPEC, CANVAS_LMS, canvas_examples
from translator.mapping.loading import parse_pointer

CORE = "http://purl.imsglobal.org/ctx/caliper/v1p1"
_EXAMPLES = {example.label: example for example in canvas_examples()}


# -- Canvas: (id, base example, pointer to change, new value or DELETE, expected path, expected rule)


def canvas_example(label: str) -> dict[str, Any]:
    return copy.deepcopy(_EXAMPLES[label].payload)


def _set(document: dict[str, Any], pointer: str, value: Any) -> None:
    *parents, last = pointer.strip("/").split("/")
    for key in parents:
        document = document[key]
    document[last] = value


def _delete(document: dict[str, Any], pointer: str) -> None:
    *parents, last = pointer.strip("/").split("/")
    for key in parents:
        document = document[key]
    del document[last]


DELETE = object()
LONG_TEXT = "x" * 8193

# (id, base example, pointer to change, new value or DELETE, expected problem path, expected rule)
CANVAS_NEGATIVE = [
    ("missing event_name", "grade_change[0]", "/metadata/event_name", DELETE, "/metadata", "required"),
    ("missing event_time", "grade_change[0]", "/metadata/event_time", DELETE, "/metadata", "required"),
    ("event_time with offset", "grade_change[0]", "/metadata/event_time", "2019-11-01T19:11:05.222+01:00", "/metadata/event_time", "pattern"),
    ("event_time with a space", "grade_change[0]", "/metadata/event_time", "2019-11-01 19:11:05.222Z", "/metadata/event_time", "pattern"),
    ("event_time date only", "grade_change[0]", "/metadata/event_time", "2019-11-01", "/metadata/event_time", "pattern"),
    ("event_time epoch number", "grade_change[0]", "/metadata/event_time", 1572635465, "/metadata/event_time", "type"),
    ("event_time month 13", "grade_change[0]", "/metadata/event_time", "2019-13-01T19:11:05.222Z", "/metadata/event_time", "pattern"),
    ("event_time microseconds", "grade_change[0]", "/metadata/event_time", "2019-11-01T19:11:05.222123Z", "/metadata/event_time", "pattern"),
    ("event_name with capitals", "grade_change[0]", "/metadata/event_name", "GradeChange", "/metadata/event_name", "pattern"),
    ("event_name not a string", "grade_change[0]", "/metadata/event_name", 7, "/metadata/event_name", "type"),
    ("numeric user_id", "grade_change[0]", "/metadata/user_id", 21070000000000987, "/metadata/user_id", "type"),
    ("user_id with letters", "grade_change[0]", "/metadata/user_id", "2107abc", "/metadata/user_id", "pattern"),
    ("empty root_account_id", "grade_change[0]", "/metadata/root_account_id", "", "/metadata/root_account_id", "pattern"),
    ("negative context_id", "grade_change[0]", "/metadata/context_id", "-565", "/metadata/context_id", "pattern"),
    ("producer not canvas", "grade_change[0]", "/metadata/producer", "blackboard", "/metadata/producer", "const"),
    ("http_method lower case", "grade_change[0]", "/metadata/http_method", "post", "/metadata/http_method", "enum"),
    ("hostname with a path", "grade_change[0]", "/metadata/hostname", "oxana.instructure.com/x", "/metadata/hostname", "pattern"),
    ("url not absolute", "grade_change[0]", "/metadata/url", "/api/v1/courses", "/metadata/url", "pattern"),
    ("client_ip not an address", "grade_change[0]", "/metadata/client_ip", "localhost", "/metadata/client_ip", "pattern"),
    ("job_id without job_tag", "grade_change[0]", "/metadata/job_id", "1020020528469291", "/metadata", "dependentRequired"),
    ("metadata is an array", "grade_change[0]", "/metadata", [], "/metadata", "type"),
    ("body is a string", "grade_change[0]", "/body", "{}", "/body", "type"),
    ("body missing", "grade_change[0]", "/body", DELETE, "", "required"),
    ("metadata missing", "grade_change[0]", "/metadata", DELETE, "", "required"),
    ("numeric submission_id", "grade_change[0]", "/body/submission_id", 21070000000011086, "/body/submission_id", "type"),
    ("submission_id with letters", "grade_change[0]", "/body/submission_id", "2107000000001108x", "/body/submission_id", "pattern"),
    ("submission_id missing", "grade_change[0]", "/body/submission_id", DELETE, "/body", "required"),
    ("score as string", "grade_change[0]", "/body/score", "5", "/body/score", "type"),
    ("grading_complete as string", "grade_change[0]", "/body/grading_complete", "true", "/body/grading_complete", "type"),
    ("muted as number", "grade_change[0]", "/body/muted", 0, "/body/muted", "type"),
    ("assignment_id null", "grade_change[0]", "/body/assignment_id", None, "/body/assignment_id", "type"),
    ("submission body of 8193 characters", "submission_created[0]", "/body/body", LONG_TEXT, "/body/body", "maxLength"),
    ("wiki page body of 8193 characters", "wiki_page_updated[0]", "/body/body", LONG_TEXT, "/body/body", "maxLength"),
    ("syllabus of 8193 characters", "syllabus_updated[0]", "/body/syllabus_body", LONG_TEXT, "/body/syllabus_body", "maxLength"),
    ("discussion entry text of 8193 characters", "discussion_entry_created[0]", "/body/text", LONG_TEXT, "/body/text", "maxLength"),
    ("attempt as string", "submission_created[0]", "/body/attempt", "12", "/body/attempt", "type"),
    ("submitted_at not a time", "submission_created[0]", "/body/submitted_at", "yesterday", "/body/submitted_at", "pattern"),
    ("late as string", "submission_created[0]", "/body/late", "no", "/body/late", "type"),
    ("enrollment type unknown", "enrollment_created[0]", "/body/type", "WizardEnrollment", "/body/type", "enum"),
    ("enrollment workflow_state unknown", "enrollment_created[0]", "/body/workflow_state", "sleeping", "/body/workflow_state", "enum"),
    ("enrollment limit_privileges as string", "enrollment_created[0]", "/body/limit_privileges_to_course_section", "false", "/body/limit_privileges_to_course_section", "type"),
    ("course_section_id numeric", "enrollment_created[0]", "/body/course_section_id", 4811, "/body/course_section_id", "type"),
    ("asset_id with letters", "asset_accessed[0]", "/body/asset_id", "abc", "/body/asset_id", "pattern"),
    ("asset_type missing", "asset_accessed[0]", "/body/asset_type", DELETE, "/body", "required"),
    ("redirect_url relative", "logged_in[0]", "/body/redirect_url", "/courses/1", "/body/redirect_url", "pattern"),
    ("quiz points_possible as string", "quiz_created[0]", "/body/points_possible", "10", "/body/points_possible", "type"),
    ("quiz_type unknown", "quiz_created[0]", "/body/quiz_type", "pop_quiz", "/body/quiz_type", "enum"),
    ("user_account_association without user_id", "user_account_association_created[0]", "/body/user_id", DELETE, "/body", "required"),
    ("session_id with spaces", "grade_change[0]", "/metadata/session_id", "ef686f8e d684", "/metadata/session_id", "pattern"),
]


def broken_canvas_event(base: str, pointer: str, value: Any) -> dict[str, Any]:
    """The documented example `base` with the value at `pointer` replaced (or deleted: DELETE)."""
    payload = canvas_example(base)
    if value is DELETE:
        _delete(payload, pointer)
    else:
        _set(payload, pointer, value)
    return payload


# -- Caliper: (id, base, operations, expected path, expected rule)


def _load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def spec_fixture(name: str) -> Any:
    """An official Caliper 1.1 fixture by its file's name (without .json)."""
    return _load(CALIPER_SPEC / f"{name}.json")


BASES = {
    "nav": "caliperEventNavigationNavigatedToWebPage",
    "env": "caliperEnvelopeEventSingle",
    "media": "caliperEventMediaPausedVideo",
    "annot": "caliperEventAnnotationHighlighted",
    "login": "caliperEventSessionLoggedIn",
    "timeout": "caliperEventSessionTimedOut",
    "grade": "caliperEventGradeGraded",
    "thread": "caliperEventThreadMarkedAsRead",
    "basic": "caliperEventBasicCreated",
    "member": "caliperEntityMembership",
    "person": "caliperEntityPerson",
    "audio": "caliperEntityAudioObject",
    "fed": "caliperEventViewViewedDocumentFedSession",
}


def _canvas_example(file: str, index: int = 0) -> Any:
    return _load(CANVAS_LMS / "caliper" / "event-types" / f"{file}.json")["examples"][index]["payload"]


def caliper_base(name: str) -> Any:
    if name.startswith("canvas:"):
        return _canvas_example(name.split(":", 1)[1])
    return spec_fixture(BASES[name])


def mutate(doc: Any, *ops: tuple[Any, ...]) -> Any:
    """Apply ("set", pointer, value) and ("del", pointer) to a deep copy of `doc`."""
    doc = copy.deepcopy(doc)
    for op, pointer, *value in ops:
        *parents, last = parse_pointer(pointer)
        node = doc
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node[part]
        key: Any = int(last) if isinstance(node, list) else last
        if op == "set":
            node[key] = value[0]
        elif op == "del":
            del node[key]
        else:  # pragma: no cover - a typo in the table
            raise ValueError(op)
    return doc


S = "set"
D = "del"
ENTITY = {"id": "https://example.edu/things/1"}

# (id, base, ops, expected path, expected rule)
NEGATIVE_IMS = [
    # -- action not allowed for the event type
    ("nav-action-viewed", "nav", [(S, "/action", "Viewed")], "/action", "enum"),
    ("nav-action-lowercase", "nav", [(S, "/action", "navigatedTo")], "/action", "enum"),
    ("media-action-viewed", "media", [(S, "/action", "Viewed")], "/action", "enum"),
    ("media-action-iri-typo-fullscreen", "media", [(S, "/action", "EnteredFullscreen")], "/action", "enum"),
    ("annotation-action-graded", "annot", [(S, "/action", "Graded")], "/action", "enum"),
    ("session-action-navigated", "login", [(S, "/action", "NavigatedTo")], "/action", "enum"),
    ("thread-action-table-typo", "thread", [(S, "/action", "MarkedAsUnRead")], "/action", "enum"),
    ("thread-action-created", "thread", [(S, "/action", "Created")], "/action", "enum"),
    ("grade-action-submitted", "grade", [(S, "/action", "Submitted")], "/action", "enum"),
    ("assessment-action-completed", "env", [(S, "/data/0/action", "Completed")], "/data/0/action", "enum"),
    ("basic-action-not-in-vocabulary", "basic", [(S, "/action", "Printed")], "/action", "enum"),
    ("action-not-a-string", "basic", [(S, "/action", ["Created"])], "/action", "enum"),
    # -- object type not allowed
    ("nav-object-person", "nav", [(S, "/object/type", "Person")], "/object/type", "enum"),
    ("nav-object-generic-entity", "nav", [(S, "/object/type", "Entity")], "/object/type", "enum"),
    ("media-object-document", "media", [(S, "/object/type", "Document")], "/object/type", "enum"),
    ("grade-object-score", "grade", [(S, "/object/type", "Score")], "/object/type", "enum"),
    ("assessment-object-parent-type", "env", [(S, "/data/0/object/type", "AssignableDigitalResource")], "/data/0/object/type", "enum"),
    ("annotation-object-person", "annot", [(S, "/object/type", "Person")], "/object/type", "enum"),
    ("loggedin-object-session", "login", [(S, "/object", {**ENTITY, "type": "Session"})], "/object/type", "enum"),
    ("basic-object-foreign-type", "basic", [(S, "/object/type", "Thesis")], "/object/type", "enum"),
    ("object-without-type", "nav", [(D, "/object/type")], "/object", "required"),
    ("object-deprecated-type-reading", "basic", [(S, "/object/type", "Reading")], "/object/type", "enum"),
    # -- actor type not allowed
    ("nav-actor-software", "nav", [(S, "/actor/type", "SoftwareApplication")], "/actor/type", "enum"),
    ("grade-actor-organization", "grade", [(S, "/actor/type", "Organization")], "/actor/type", "enum"),
    ("timedout-actor-person", "timeout", [(S, "/actor/type", "Person")], "/actor/type", "enum"),
    ("annotation-actor-group", "annot", [(S, "/actor/type", "Group")], "/actor/type", "enum"),
    ("actor-number", "nav", [(S, "/actor", 554433)], "/actor", "type"),
    # -- generated / target / other slots
    ("assessment-generated-score", "env", [(S, "/data/0/generated/type", "Score")], "/data/0/generated/type", "enum"),
    ("grade-generated-result", "grade", [(S, "/generated/type", "Result")], "/generated/type", "enum"),
    ("annotation-generated-document", "annot", [(S, "/generated", {**ENTITY, "type": "Document"})], "/generated/type", "enum"),
    ("media-target-frame", "media", [(S, "/target/type", "Frame")], "/target/type", "enum"),
    ("nav-target-medialocation", "nav", [(S, "/target", {**ENTITY, "type": "MediaLocation"})], "/target/type", "enum"),
    ("edapp-person", "nav", [(S, "/edApp", {**ENTITY, "type": "Person"})], "/edApp/type", "enum"),
    ("group-person", "nav", [(S, "/group/type", "Person")], "/group/type", "enum"),
    ("membership-person", "nav", [(S, "/membership/type", "Person")], "/membership/type", "enum"),
    ("session-membership", "nav", [(S, "/session/type", "Membership")], "/session/type", "enum"),
    ("federated-session-parent-type", "fed", [(S, "/federatedSession/type", "Session")], "/federatedSession/type", "enum"),
    ("membership-member-organization", "member", [(S, "/member/type", "Organization")], "/member/type", "enum"),
    ("message-ispartof-forum-expected-thread", "thread", [(S, "/object/isPartOf/type", "Thread")], "/object/isPartOf/type", "enum"),
    # -- identifiers
    ("event-id-short-uuid", "nav", [(S, "/id", "urn:uuid:1234")], "/id", "pattern"),
    ("event-id-http", "nav", [(S, "/id", "https://example.edu/events/1")], "/id", "pattern"),
    ("event-id-bare-uuid", "nav", [(S, "/id", "ff9ec22a-fc59-4ae1-ae8d-2c9463ee2f8f")], "/id", "pattern"),
    ("event-id-missing", "nav", [(D, "/id")], "", "required"),
    ("entity-id-relative", "nav", [(S, "/actor/id", "/users/554433")], "/actor/id", "pattern"),
    ("entity-id-no-scheme", "nav", [(S, "/object/id", "example.edu/pages/2")], "/object/id", "pattern"),
    ("entity-id-whitespace", "nav", [(S, "/object/id", "https://example.edu/a page")], "/object/id", "pattern"),
    ("entity-iri-relative", "nav", [(S, "/edApp", "example.edu")], "/edApp", "pattern"),
    ("member-iri-relative", "nav", [(S, "/membership/member", "users/554433")], "/membership/member", "pattern"),
    ("entity-id-missing", "nav", [(D, "/actor/id")], "/actor", "required"),
    ("describe-id-number", "person", [(S, "/id", 554433)], "/id", "type"),
    # -- date-times
    ("time-without-millis", "nav", [(S, "/eventTime", "2016-11-15T10:15:00Z")], "/eventTime", "pattern"),
    ("time-with-offset", "nav", [(S, "/eventTime", "2016-11-15T10:15:00.000+01:00")], "/eventTime", "pattern"),
    ("time-with-micros", "nav", [(S, "/eventTime", "2016-11-15T10:15:00.000000Z")], "/eventTime", "pattern"),
    ("time-date-only", "nav", [(S, "/eventTime", "2016-11-15")], "/eventTime", "pattern"),
    ("time-month-13", "nav", [(S, "/eventTime", "2016-13-15T10:15:00.000Z")], "/eventTime", "pattern"),
    ("time-space-separator", "nav", [(S, "/object/dateCreated", "2016-08-01 09:00:00.000Z")], "/object/dateCreated", "pattern"),
    ("time-lowercase-z", "nav", [(S, "/session/startedAtTime", "2016-11-15T10:00:00.000z")], "/session/startedAtTime", "pattern"),
    ("time-epoch-number", "nav", [(S, "/eventTime", 1479204900000)], "/eventTime", "type"),
    ("send-time-without-millis", "env", [(S, "/sendTime", "2016-11-15T11:05:01Z")], "/sendTime", "pattern"),
    # -- durations
    ("duration-clock", "media", [(S, "/object/duration", "20:20")], "/object/duration", "pattern"),
    ("duration-empty-time", "media", [(S, "/target/currentTime", "PT")], "/target/currentTime", "pattern"),
    ("duration-p-only", "media", [(S, "/object/duration", "P")], "/object/duration", "pattern"),
    ("duration-seconds-suffix", "timeout", [(S, "/object/duration", "3600s")], "/object/duration", "pattern"),
    ("duration-number", "audio", [(S, "/duration", 3313)], "/duration", "type"),
    # -- properties outside the spec
    ("event-unknown-property", "nav", [(S, "/foo", 1)], "/foo", "additionalProperties"),
    ("event-navigated-from", "nav", [(S, "/navigatedFrom", {**ENTITY, "type": "WebPage"})], "/navigatedFrom", "additionalProperties"),
    ("event-profile-1p2", "basic", [(S, "/profile", "GeneralProfile")], "/profile", "additionalProperties"),
    ("object-unknown-property", "nav", [(S, "/object/author", "Jane")], "/object/author", "additionalProperties"),
    ("actor-unknown-property", "nav", [(S, "/actor/email", "jane@example.edu")], "/actor/email", "additionalProperties"),
    ("subtype-property-on-parent", "nav", [(S, "/group/type", "CourseOffering"), (S, "/group/category", "lecture")], "/group/category", "additionalProperties"),
    ("selector-with-id", "annot", [(S, "/generated/selection/id", "https://example.edu/s/1")], "/generated/selection/id", "additionalProperties"),
    ("nested-unknown-property", "env", [(S, "/data/0/generated/score", 5)], "/data/0/generated/score", "additionalProperties"),
    ("describe-unknown-property", "person", [(S, "/age", 30)], "/age", "additionalProperties"),
    ("extensions-not-object", "nav", [(S, "/extensions", ["x"])], "/extensions", "type"),
    # -- required properties
    ("missing-context", "nav", [(D, "/@context")], "", "required"),
    ("missing-actor", "nav", [(D, "/actor")], "", "required"),
    ("missing-event-time", "nav", [(D, "/eventTime")], "", "required"),
    ("missing-object", "grade", [(D, "/object")], "", "required"),
    ("describe-missing-context", "person", [(D, "/@context")], "", "required"),
    ("envelope-item-missing-context", "env", [(D, "/data/0/@context")], "/data/0", "required"),
    ("missing-type", "nav", [(D, "/type")], "", "required"),
    ("selector-missing-end", "annot", [(D, "/generated/selection/end")], "/generated/selection", "required"),
    # -- @context
    ("context-1p2", "nav", [(S, "/@context", "http://purl.imsglobal.org/ctx/caliper/v1p2")], "/@context", "const"),
    ("context-https-variant", "nav", [(S, "/@context", "https://purl.imsglobal.org/ctx/caliper/v1p1")], "/@context", "const"),
    ("context-caliper-not-last", "nav", [(S, "/@context", [CORE, "https://schema.org/"])], "/@context/1", "const"),
    ("context-caliper-absent-from-array", "nav", [(S, "/@context", ["https://schema.org/"])], "/@context/0", "const"),
    ("context-empty-array", "nav", [(S, "/@context", [])], "/@context", "minItems"),
    ("context-array-item-number", "nav", [(S, "/@context", [5, CORE])], "/@context/0", "type"),
    ("context-object", "nav", [(S, "/@context", {"@vocab": CORE})], "/@context", "const"),
    # -- Envelope
    ("envelope-data-version-1p2", "env", [(S, "/dataVersion", "http://purl.imsglobal.org/ctx/caliper/v1p2")], "/dataVersion", "const"),
    ("envelope-empty-data", "env", [(S, "/data", [])], "/data", "minItems"),
    ("envelope-extra-key", "env", [(S, "/foo", "bar")], "/foo", "additionalProperties"),
    ("envelope-missing-sensor", "env", [(D, "/sensor")], "", "required"),
    ("envelope-missing-data-version", "env", [(D, "/dataVersion")], "", "required"),
    ("envelope-data-object", "env", [(S, "/data", {"a": 1})], "/data", "type"),
    ("envelope-item-string", "env", [(S, "/data/0", "urn:uuid:c51570e4-f8ed-4c18-bb3a-dfe51b2cc594")], "/data/0", "type"),
    ("envelope-item-unknown-type", "env", [(S, "/data/0/type", "OutcomeEvent")], "/data/0/type", "unknown-type"),
    # -- Membership vocabularies
    ("role-unknown", "member", [(S, "/roles", ["Student"])], "/roles/0", "enum"),
    ("role-bad-subrole", "member", [(S, "/roles", ["Instructor", "Instructor#Student"])], "/roles/1", "enum"),
    ("role-lowercase", "member", [(S, "/roles", ["learner"])], "/roles/0", "enum"),
    ("roles-not-array", "member", [(S, "/roles", "Learner")], "/roles", "type"),
    ("role-lis-iri", "member", [(S, "/roles", ["http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"])], "/roles/0", "enum"),
    ("status-unknown", "member", [(S, "/status", "Enrolled")], "/status", "enum"),
    ("status-lowercase", "nav", [(S, "/membership/status", "active")], "/membership/status", "enum"),
    # -- unknown types
    ("type-outcome-event", "nav", [(S, "/type", "OutcomeEvent")], "/type", "unknown-type"),
    ("type-foreign", "nav", [(S, "/type", "Thesis")], "/type", "unknown-type"),
    ("type-not-a-string", "nav", [(S, "/type", 5)], "/type", "unknown-type"),
    ("type-extension-profile-term", "nav", [(S, "/type", "SearchEvent")], "/type", "unknown-type"),
    # -- values of the wrong type
    ("frame-index-string", "nav", [(S, "/target", {**ENTITY, "type": "Frame", "index": "1"})], "/target/index", "type"),
    ("max-attempts-decimal", "env", [(S, "/data/0/object/maxAttempts", 2.5)], "/data/0/object/maxAttempts", "type"),
    ("attempt-count-negative", "env", [(S, "/data/0/generated/count", -1)], "/data/0/generated/count", "minimum"),
    ("score-given-string", "grade", [(S, "/generated/scoreGiven", "10")], "/generated/scoreGiven", "type"),
    ("audio-muted-string", "audio", [(S, "/muted", "yes")], "/muted", "type"),
    ("keywords-not-array", "audio", [(S, "/keywords", "caliper")], "/keywords", "type"),
    ("media-type-not-iana", "audio", [(S, "/mediaType", "ogg")], "/mediaType", "pattern"),
    ("name-number", "person", [(S, "/name", 42)], "/name", "type"),
]

# Canvas profile: strict about Canvas's extension structure and ids, still strict elsewhere.
NEGATIVE_CANVAS = [
    ("canvas-actor-entity-id-number", "canvas:assignment_created", [(S, "/data/0/actor/extensions/com.instructure.canvas/entity_id", 21070000000000001)],
     "/data/0/actor/extensions/com.instructure.canvas/entity_id", "type"),
    ("canvas-block-not-object", "canvas:assignment_created", [(S, "/data/0/extensions/com.instructure.canvas", "v1")],
     "/data/0/extensions/com.instructure.canvas", "type"),
    ("canvas-request-url-relative", "canvas:assignment_created", [(S, "/data/0/extensions/com.instructure.canvas/request_url", "/api/v1/courses")],
     "/data/0/extensions/com.instructure.canvas/request_url", "pattern"),
    ("canvas-urn-without-id", "canvas:assignment_created", [(S, "/data/0/actor/id", "urn:instructure:canvas:user")], "/data/0/actor/id", "pattern"),
    ("canvas-urn-empty-id", "canvas:assignment_created", [(S, "/data/0/object/id", "urn:instructure:canvas:assignment:")], "/data/0/object/id", "pattern"),
    ("canvas-group-context-type-number", "canvas:assignment_created", [(S, "/data/0/group/extensions/com.instructure.canvas/context_type", 1)],
     "/data/0/group/extensions/com.instructure.canvas/context_type", "type"),
    ("canvas-is-announcement-string", "canvas:discussion_topic_created", [(S, "/data/0/object/extensions/com.instructure.canvas/is_announcement", "true")],
     "/data/0/object/extensions/com.instructure.canvas/is_announcement", "type"),
    ("canvas-http-method-unknown", "canvas:asset_accessed", [(S, "/data/0/object/extensions/com.instructure.canvas/http_method", "FETCH")],
     "/data/0/object/extensions/com.instructure.canvas/http_method", "enum"),
    ("canvas-quiz-type-unknown", "canvas:quiz_created", [(S, "/data/0/object/extensions/com.instructure.canvas/quiz_type", "exam")],
     "/data/0/object/extensions/com.instructure.canvas/quiz_type", "enum"),
    ("canvas-nav-object-foreign-type", "canvas:asset_accessed", [(S, "/data/0/object/type", "Thesis")], "/data/0/object/type", "enum"),
    ("canvas-thread-action-deleted", "canvas:discussion_topic_created", [(S, "/data/0/action", "Deleted")], "/data/0/action", "enum"),
    ("canvas-entity-unlisted-property", "canvas:enrollment_state_created", [(S, "/data/0/object/endedAtTime", "2019-11-05T13:38:00.218Z")],
     "/data/0/object/endedAtTime", "additionalProperties"),
    ("canvas-event-time-without-millis", "canvas:grade_change", [(S, "/data/0/eventTime", "2019-11-01T19:11:11Z")], "/data/0/eventTime", "pattern"),
    ("canvas-lock-at-not-a-time", "canvas:assignment_created", [(S, "/data/0/object/extensions/com.instructure.canvas/lock_at", "tomorrow")],
     "/data/0/object/extensions/com.instructure.canvas/lock_at", "pattern"),
]
