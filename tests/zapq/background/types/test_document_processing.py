"""document_processing: chunks embedded and stored in PostgreSQL, replaced (never doubled) on a rerun."""

from __future__ import annotations

import threading

import msgspec
import psycopg
import pytest

from tests.support.hashed_embedder import HashedEmbedder
from tests.support.task_context import RecordingContext
from zapq.background.handlers import TASK_TYPES, PermanentTaskError, TaskCancelled
from zapq.background.types.chunk_store import PostgresChunkStore
from zapq.background.types.document_processing import DocumentProcessingPayload, index_document
from zapq.background.types.embedder import provider_embedder

MANUAL = "\n\n".join(
    f"Seção {n}. O Corolla {2015 + n} tem câmbio automático e revisões na concessionária. "
    f"O financiamento do Corolla {2015 + n} sai em até 60 meses com entrada de 20%. "
    f"Aceitamos seu usado na troca, avaliado na hora."
    for n in range(1, 9)
)
FAQ = (
    "Vocês abrem aos sábados? Sim, das 9h às 13h.\n\n"
    "Onde fica a loja? Na Av. Paulista, 1000, em São Paulo.\n\n"
    "Posso fazer test drive? Sim, agende pelo WhatsApp."
)


def payload(
    document_id: str, content: str, chunk_size: int = 200, **more: object
) -> DocumentProcessingPayload:
    return msgspec.convert(
        {"document_id": document_id, "content": content, "chunk_size": chunk_size, **more},
        DocumentProcessingPayload,
    )


def stored(db, document_id: str, organization_id: str = "org-a") -> list[tuple]:
    return db.execute(
        "SELECT chunk_index, text, cardinality(embedding), embedding_model FROM document_chunks"
        " WHERE organization_id = %s AND document_id = %s ORDER BY chunk_index",
        (organization_id, document_id),
    ).fetchall()


def test_a_document_is_stored_as_its_chunks_with_their_vectors(db):
    context = RecordingContext()
    embedder = HashedEmbedder()

    result = index_document(
        context, payload("manual", MANUAL, chunk_size=200), embedder, PostgresChunkStore(db)
    )

    rows = stored(db, "manual")
    assert result["chunks"] == len(rows) > 4
    assert result["chunks_replaced"] == 0 and result["chunk_overlap"] == 40
    assert [row[0] for row in rows] == list(range(len(rows)))
    assert all(len(row[1]) <= 200 and row[2] == 64 and row[3] == "test-hashed-bow-64" for row in rows)
    assert all(row[1] in MANUAL for row in rows)


def test_processing_a_document_again_replaces_its_chunks_and_leaves_other_documents_alone(db):
    store = PostgresChunkStore(db)
    index_document(RecordingContext(), payload("manual", MANUAL), HashedEmbedder(), store)
    index_document(RecordingContext(), payload("faq", FAQ), HashedEmbedder(), store)
    index_document(
        RecordingContext(organization_id="org-b"), payload("manual", MANUAL), HashedEmbedder(), store
    )
    before = len(stored(db, "manual"))
    faq = stored(db, "faq")

    again = index_document(RecordingContext(), payload("manual", MANUAL), HashedEmbedder(), store)
    shorter = index_document(
        RecordingContext(), payload("manual", "Só um parágrafo agora."), HashedEmbedder(), store
    )

    assert again["chunks_replaced"] == before == again["chunks"]
    assert shorter["chunks_replaced"] == before
    assert stored(db, "manual") == [(0, "Só um parágrafo agora.", 64, "test-hashed-bow-64")]
    assert stored(db, "faq") == faq != []
    assert len(stored(db, "manual", "org-b")) == before


def test_two_runs_for_one_document_at_once_leave_one_set_of_chunks(settings, db):
    failures: list[BaseException] = []
    start = threading.Barrier(2)

    def run(content: str) -> None:
        try:
            with psycopg.connect(settings.database_url, autocommit=True) as connection:
                start.wait()
                for _ in range(5):
                    index_document(
                        RecordingContext(),
                        payload("manual", content),
                        HashedEmbedder(),
                        PostgresChunkStore(connection),
                    )
        except BaseException as error:
            failures.append(error)

    runs = [threading.Thread(target=run, args=(content,)) for content in (MANUAL, FAQ + "\n\n" + MANUAL)]
    for thread in runs:
        thread.start()
    for thread in runs:
        thread.join()

    rows = stored(db, "manual")
    assert failures == []
    assert [row[0] for row in rows] == list(range(len(rows)))
    assert {row[1] for row in rows} <= {
        c.text for c in (*chunks_of(MANUAL), *chunks_of(FAQ + "\n\n" + MANUAL))
    }
    assert len(rows) in (len(chunks_of(MANUAL)), len(chunks_of(FAQ + "\n\n" + MANUAL)))


def chunks_of(content: str) -> list:
    from zapq.background.types.chunking import chunk_text

    return chunk_text(content, 200, 40)


def test_the_stored_chunks_are_found_by_a_semantic_search_in_the_organisation_only(db):
    store = PostgresChunkStore(db)
    embedder = HashedEmbedder()
    index_document(RecordingContext(), payload("faq", FAQ, chunk_size=60, chunk_overlap=0), embedder, store)
    index_document(RecordingContext(organization_id="org-b"), payload("faq-b", FAQ), embedder, store)

    hits = store.search("org-a", embedder.vector("onde fica a loja"), model=embedder.model, limit=2)

    assert hits[0].document_id == "faq" and hits[0].text.startswith("Onde fica a loja?")
    assert hits[0].score > hits[1].score
    assert {hit.document_id for hit in hits} == {"faq"}


def test_progress_is_reported_per_batch_of_chunks(db):
    context = RecordingContext()
    embedder = HashedEmbedder()
    long_manual = "\n\n".join([MANUAL] * 6)

    result = index_document(
        context, payload("long", long_manual, chunk_size=100), embedder, PostgresChunkStore(db)
    )

    batches = len(embedder.calls)
    assert result["chunks"] > 64 and batches == -(-result["chunks"] // 32)
    fractions = [fraction for fraction, _ in context.progress_reports]
    assert fractions == sorted(fractions) and len(fractions) == batches + 2
    assert context.progress_reports[-2][1] == f"embedded {result['chunks']}/{result['chunks']} chunks"


def test_a_document_cancelled_midway_stops_and_keeps_its_previous_chunks(db):
    store = PostgresChunkStore(db)
    index_document(RecordingContext(), payload("manual", FAQ), HashedEmbedder(), store)
    previous = stored(db, "manual")
    embedder = HashedEmbedder()
    context = RecordingContext(cancel_at_progress=2)  # after the first batch

    with pytest.raises(TaskCancelled):
        index_document(context, payload("manual", "\n\n".join([MANUAL] * 6), chunk_size=100), embedder, store)

    assert embedder.calls == [32], "no batch after the cancel"
    assert stored(db, "manual") == previous


@pytest.mark.parametrize(
    ("changes", "named"),
    [({"chunk_size": -5}, "chunk_size"), ({"chunk_size": 10**6}, "chunk_size"),
     ({"document_id": ""}, "document_id"),
     ({"content": " \n "}, "content"), ({"chunk_size": 100, "chunk_overlap": 60}, "chunk_overlap"),
     ({"colour": "red"}, "colour")],
    ids=["negative-size", "huge-size", "empty-id", "blank-content", "overlap-over-half", "unknown-field"],
)  # fmt: skip
def test_a_payload_that_cannot_work_is_refused_naming_the_field(changes, named):
    body = {"document_id": "d1", "content": "Texto.", **changes}

    with pytest.raises(msgspec.ValidationError, match=named):
        msgspec.convert(body, DocumentProcessingPayload)
    with pytest.raises(PermanentTaskError, match=named):
        TASK_TYPES["document_processing"].handler(RecordingContext(), body)


def test_the_task_embeds_with_the_configured_provider_so_chunks_are_found_by_meaning(db):
    document = (
        "A garantia cobre motor e câmbio por três anos.\n\n"
        "O test drive pode ser agendado de segunda a sábado, com CNH válida.\n\n"
        "Aceitamos seu carro usado na troca, com avaliação gratuita."
    )

    result = TASK_TYPES["document_processing"].handler(
        RecordingContext(), {"document_id": "manual", "content": document, "chunk_size": 80}
    )

    provider = provider_embedder().provider  # the local multilingual model, as EMBEDDINGS_PROVIDER says
    assert result["chunks"] >= 3
    question = provider.embed(["posso dar meu carro como parte do pagamento?"], query=True)[0]
    [best, *_] = PostgresChunkStore(db).search(
        RecordingContext().organization_id, [float(value) for value in question], model=provider.model
    )
    assert "Aceitamos seu carro usado na troca" in best.text
